/** The environment the relay reads its configuration from. */
export type Env = Readonly<Record<string, string | undefined>>

export interface IntegerRule {
  name: string
  fallback: number
  min: number
  max: number
  /** What the number counts ("ms", "bytes"), named in the problem; left out: a plain integer. */
  unit?: string
}

const integerPattern = /^\d+$/

/** An integer variable from `rule.min` to `rule.max`; anything else goes to `problems` and reads as the fallback. */
export function readInteger(env: Env, rule: IntegerRule, problems: string[]): number {
  const raw = env[rule.name]?.trim()
  if (raw === undefined || raw === '') return rule.fallback
  const value = integerPattern.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value) || value < rule.min || value > rule.max) {
    problems.push(`${rule.name}=${JSON.stringify(raw)}: expected an integer ${rule.unit === undefined ? '' : `number of ${rule.unit} `}from ${rule.min} to ${rule.max}`)
    return rule.fallback
  }
  return value
}

// Reading /v1's environment variables: integers in a range and comma-separated lists, each
// problem added to the caller's list so that startup names them all at once.
import type { Env } from '../config'

export interface IntegerRule {
  fallback: number
  min: number
  max: number
}

export function readInteger(env: Env, name: string, rule: IntegerRule, problems: string[]): number {
  const raw = env[name]?.trim()
  if (raw === undefined || raw === '') return rule.fallback
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value) || value < rule.min || value > rule.max) {
    problems.push(`${name}=${JSON.stringify(raw)}: expected an integer from ${rule.min} to ${rule.max}`)
    return rule.fallback
  }
  return value
}

/** The non-empty items of a comma-separated variable. */
export function readList(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

import path from 'node:path'
import { isLogLevel, type LogLevel } from './log'

export interface RelayConfig {
  port: number
  host: string
  /** Absolute path of the built app (`dist`). */
  staticDir: string
  /** Served at /models/ (GGUF files for browsers on a network with no Hugging Face); null: none. */
  modelsDir: string | null
  logLevel: LogLevel
  maxFrameBytes: number
  maxTopicsPerConn: number
  maxConnPerIp: number
  /** A socket silent this long (no frame, no pong) is closed; it is pinged every half of it. */
  idleTimeoutMs: number
}

export class RelayConfigError extends Error {
  override readonly name = 'RelayConfigError'
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super(`invalid relay configuration:\n  ${problems.join('\n  ')}`)
    this.problems = problems
  }
}

export type Env = Readonly<Record<string, string | undefined>>

interface IntegerRule {
  name: string
  fallback: number
  min: number
  max: number
  unit: string
}

const integerPattern = /^\d+$/

function readInteger(env: Env, rule: IntegerRule, problems: string[]): number {
  const raw = env[rule.name]?.trim()
  if (raw === undefined || raw === '') return rule.fallback
  const value = integerPattern.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value) || value < rule.min || value > rule.max) {
    problems.push(`${rule.name}=${JSON.stringify(raw)}: expected an integer number of ${rule.unit} from ${rule.min} to ${rule.max}`)
    return rule.fallback
  }
  return value
}

/**
 * Reads the relay's configuration from environment variables. Throws a RelayConfigError that
 * lists every invalid variable, so a bad deployment fails at startup and says why.
 */
export function loadConfig(env: Env, cwd: string = process.cwd()): RelayConfig {
  const problems: string[] = []
  const port = readInteger(env, { name: 'PORT', fallback: 8787, min: 0, max: 65_535, unit: 'port' }, problems)
  const host = env.HOST?.trim() || '127.0.0.1'
  const staticDir = path.resolve(cwd, env.RELAY_STATIC_DIR?.trim() || 'dist')
  const modelsDir = env.RELAY_MODELS_DIR?.trim() ? path.resolve(cwd, env.RELAY_MODELS_DIR.trim()) : null
  const rawLogLevel = env.RELAY_LOG?.trim() || 'info'
  if (!isLogLevel(rawLogLevel)) {
    problems.push(`RELAY_LOG=${JSON.stringify(rawLogLevel)}: expected info, debug or silent`)
  }
  const maxFrameBytes = readInteger(
    env,
    { name: 'RELAY_MAX_FRAME_BYTES', fallback: 64 * 1024, min: 256, max: 64 * 1024 * 1024, unit: 'bytes' },
    problems,
  )
  const maxTopicsPerConn = readInteger(
    env,
    { name: 'RELAY_MAX_TOPICS', fallback: 32, min: 1, max: 100_000, unit: 'topics' },
    problems,
  )
  const maxConnPerIp = readInteger(
    env,
    { name: 'RELAY_MAX_CONN_PER_IP', fallback: 64, min: 1, max: 1_000_000, unit: 'connections' },
    problems,
  )
  const idleTimeoutMs = readInteger(
    env,
    { name: 'RELAY_IDLE_TIMEOUT_MS', fallback: 60_000, min: 100, max: 3_600_000, unit: 'milliseconds' },
    problems,
  )
  if (problems.length > 0) throw new RelayConfigError(problems)
  return {
    port,
    host,
    staticDir,
    modelsDir,
    logLevel: isLogLevel(rawLogLevel) ? rawLogLevel : 'info',
    maxFrameBytes,
    maxTopicsPerConn,
    maxConnPerIp,
    idleTimeoutMs,
  }
}

import { registerError } from '../shared/errors'
import path from 'node:path'
import { parseTrustedProxies, TrustProxyError } from './address'
import { isLogLevel, type LogLevel } from './log'
import { loadClusterSettings, type ClusterSettings } from './cluster/config'
import { loadNetSettings, type NetConfigSettings } from './net/config'

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
  /** Per address: an IPv4 address, or an IPv6 /64. */
  maxConnPerIp: number
  /** New signaling connections per second per address (bursts of 4×). */
  connectsPerSPerIp: number
  /** Signaling connections in all. */
  maxConnections: number
  /** Subscribers of one topic (a room's signaling fan-out). */
  maxTopicSubscribers: number
  /** A socket silent this long (no frame, no pong) is closed; it is pinged every half of it. */
  idleTimeoutMs: number
  /** Per signaling connection: frames and bytes per second, and the bursts allowed above. */
  signalFramesPerS: number
  signalFrameBurst: number
  signalBytesPerS: number
  signalByteBurst: number
  /** Names the relay is reached by besides loopback names and IP literals (DNS rebinding). */
  publicHosts: readonly string[]
  /** Browser origins besides the relay's own and loopback pages that may open /signal; `*`: any. */
  signalOrigins: readonly string[]
  /** Proxies (addresses, CIDR blocks) whose X-Forwarded-For gives the client's address; empty: the socket's. */
  trustProxy: readonly string[]
  /** What GET /net.json tells pages: ICE servers and the other relays' signaling URLs. */
  net: NetConfigSettings
  /** Shared signaling with other relay processes through Redis (RELAY_REDIS_URL). */
  cluster: ClusterSettings
}

export class RelayConfigError extends Error {
  static {
    registerError((message) => new this([message]))
  }
  override readonly name = 'RelayConfigError'
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super(`invalid relay configuration:\n  ${problems.join('\n  ')}`)
    this.problems = problems
  }
}

export type { Env } from './env'
import { readInteger, type Env } from './env'

function readList(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

const hostRulePattern = /^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i

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
  const maxFrameBytes = readInteger(env, { name: 'RELAY_MAX_FRAME_BYTES', fallback: 64 * 1024, min: 256, max: 64 * 1024 * 1024, unit: 'bytes' }, problems)
  const maxTopicsPerConn = readInteger(env, { name: 'RELAY_MAX_TOPICS', fallback: 32, min: 1, max: 100_000, unit: 'topics' }, problems)
  const maxConnPerIp = readInteger(env, { name: 'RELAY_MAX_CONN_PER_IP', fallback: 64, min: 1, max: 1_000_000, unit: 'connections' }, problems)
  const connectsPerSPerIp = readInteger(env, { name: 'RELAY_CONNECTS_PER_S_PER_IP', fallback: 10, min: 1, max: 1_000_000, unit: 'connections per second' }, problems)
  const maxConnections = readInteger(env, { name: 'RELAY_MAX_CONNECTIONS', fallback: 4096, min: 1, max: 10_000_000, unit: 'connections' }, problems)
  const maxTopicSubscribers = readInteger(env, { name: 'RELAY_MAX_TOPIC_SUBSCRIBERS', fallback: 256, min: 1, max: 1_000_000, unit: 'subscribers' }, problems)
  const idleTimeoutMs = readInteger(env, { name: 'RELAY_IDLE_TIMEOUT_MS', fallback: 60_000, min: 100, max: 3_600_000, unit: 'milliseconds' }, problems)
  const signalFramesPerS = readInteger(env, { name: 'RELAY_SIGNAL_FRAMES_PER_S', fallback: 50, min: 1, max: 1_000_000, unit: 'frames per second' }, problems)
  const signalFrameBurst = readInteger(env, { name: 'RELAY_SIGNAL_FRAME_BURST', fallback: 200, min: 1, max: 10_000_000, unit: 'frames' }, problems)
  const signalBytesPerS = readInteger(env, { name: 'RELAY_SIGNAL_BYTES_PER_S', fallback: 256 * 1024, min: 256, max: 1024 ** 3, unit: 'bytes per second' }, problems)
  const signalByteBurst = readInteger(env, { name: 'RELAY_SIGNAL_BYTE_BURST', fallback: Math.max(1024 * 1024, maxFrameBytes), min: 256, max: 1024 ** 3, unit: 'bytes' }, problems)
  if (signalByteBurst < maxFrameBytes) {
    problems.push(`RELAY_SIGNAL_BYTE_BURST=${signalByteBurst} is below RELAY_MAX_FRAME_BYTES=${maxFrameBytes}: a frame of the largest size could never pass`)
  }
  const publicHosts = readList(env, 'RELAY_PUBLIC_HOSTS')
  for (const rule of publicHosts) {
    if (!hostRulePattern.test(rule)) problems.push(`RELAY_PUBLIC_HOSTS: ${JSON.stringify(rule)} is not a host name like relay.example.org (or .example.org for its subdomains)`)
  }
  const signalOrigins = readList(env, 'RELAY_SIGNAL_ORIGINS')
  for (const origin of signalOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/]+$/.test(origin)) problems.push(`RELAY_SIGNAL_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://app.example.org (or *)`)
  }
  const trustProxy = readList(env, 'RELAY_TRUST_PROXY')
  try {
    parseTrustedProxies(trustProxy)
  } catch (error) {
    if (!(error instanceof TrustProxyError)) throw error
    problems.push(`RELAY_TRUST_PROXY: ${error.message}`)
  }
  const net = loadNetSettings(env, problems)
  const cluster = loadClusterSettings(env, problems)
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
    connectsPerSPerIp,
    maxConnections,
    maxTopicSubscribers,
    idleTimeoutMs,
    signalFramesPerS,
    signalFrameBurst,
    signalBytesPerS,
    signalByteBurst,
    publicHosts,
    signalOrigins,
    trustProxy,
    net,
    cluster,
  }
}

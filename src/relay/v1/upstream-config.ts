// The upstreams of /v1, from the environment: one (RELAY_UPSTREAM_URL, RELAY_UPSTREAM_KEY) or
// several (RELAY_UPSTREAM_URLS with RELAY_UPSTREAM_KEYS, or a JSON array), each with the models
// it serves, and the circuit breaker every upstream sits behind. Syntax: ./config.ts.
import * as v from 'valibot'
import type { Env } from '../config'
import { readInteger } from './env-read'

export interface UpstreamTarget {
  /** Base URL without a trailing slash (`…/v1`). */
  url: string
  key: string | null
  /** The models it serves; null: the ones its GET /models lists. */
  models: readonly string[] | null
}

export interface BreakerSettings {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number
  /** How long it stays open the first time; each failed probe doubles it, up to maxCooldownMs. */
  cooldownMs: number
  maxCooldownMs: number
}

export interface UpstreamsConfig {
  /** In order of preference: a model goes to the first healthy one that serves it. */
  targets: readonly UpstreamTarget[]
  timeoutMs: number
  retries: number
  breaker: BreakerSettings
}

/** A failed probe doubles the cooldown up to this many times the first one. */
const maxCooldownFactor = 8

const JsonTargetsSchema = v.pipe(
  v.array(
    v.strictObject({
      url: v.string(),
      key: v.optional(v.nullable(v.string())),
      models: v.optional(v.array(v.string())),
    }),
  ),
  v.minLength(1, 'expected at least one upstream'),
)

/** `url` as a base URL, or the problem with it. */
function baseUrl(where: string, raw: string, problems: string[]): string | null {
  if (!URL.canParse(raw)) {
    problems.push(`${where}: ${JSON.stringify(raw)} is not a URL`)
    return null
  }
  const protocol = new URL(raw).protocol
  if (protocol !== 'http:' && protocol !== 'https:') {
    problems.push(`${where}: ${JSON.stringify(raw)} is not an http: or https: URL`)
    return null
  }
  return raw.replace(/\/+$/, '')
}

/** A model list as configured: names without spaces, no empty ones; null for none given. */
function modelNames(where: string, names: readonly string[] | undefined, problems: string[]): string[] | null {
  if (names === undefined) return null
  const bad = names.filter((name) => name.trim() === '' || /\s/.test(name))
  if (bad.length > 0) problems.push(`${where}: model names may not be empty or contain spaces: ${JSON.stringify(bad)}`)
  if (names.length === 0) problems.push(`${where}: an empty model list serves nothing; leave models out to use the upstream's GET /models`)
  return [...new Set(names.filter((name) => !bad.includes(name)))]
}

/** `[{"url":…,"key":…,"models":[…]}, …]` */
function jsonTargets(raw: string, env: Env, problems: string[]): UpstreamTarget[] {
  if (env.RELAY_UPSTREAM_KEYS !== undefined) problems.push('RELAY_UPSTREAM_KEYS: with RELAY_UPSTREAM_URLS as JSON, give each upstream its "key" there instead')
  let parsedJson: unknown
  try {
    parsedJson = JSON.parse(raw)
  } catch (error) {
    problems.push(`RELAY_UPSTREAM_URLS: not JSON (${error instanceof Error ? error.message : String(error)})`)
    return []
  }
  const parsed = v.safeParse(JsonTargetsSchema, parsedJson)
  if (!parsed.success) {
    for (const issue of parsed.issues) problems.push(`RELAY_UPSTREAM_URLS${v.getDotPath(issue) === null ? '' : `[${v.getDotPath(issue)}]`}: ${issue.message}`)
    return []
  }
  return parsed.output.flatMap((entry, index): UpstreamTarget[] => {
    const url = baseUrl(`RELAY_UPSTREAM_URLS[${index}].url`, entry.url.trim(), problems)
    const models = modelNames(`RELAY_UPSTREAM_URLS[${index}].models`, entry.models, problems)
    return url === null ? [] : [{ url, key: entry.key?.trim() || null, models }]
  })
}

/** `URL[ model|model…], URL…` with RELAY_UPSTREAM_KEYS in the same order. */
function listedTargets(raw: string, env: Env, problems: string[]): UpstreamTarget[] {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
  const keysRaw = env.RELAY_UPSTREAM_KEYS
  const keys = keysRaw === undefined ? [] : keysRaw.split(',').map((key) => key.trim())
  if (keysRaw !== undefined && keys.length !== entries.length) {
    problems.push(`RELAY_UPSTREAM_KEYS: ${keys.length} keys for ${entries.length} upstreams; give one per upstream, in the same order (empty for none: \`k1,,k3\`)`)
  }
  return entries.flatMap((entry, index): UpstreamTarget[] => {
    const [first = '', ...rest] = entry.split(/\s+/)
    const where = `RELAY_UPSTREAM_URLS entry ${index + 1}`
    const url = baseUrl(where, first, problems)
    if (rest.length > 1) problems.push(`${where}: ${JSON.stringify(entry)} is not \`URL\` or \`URL model|model\` (models are separated by |, without spaces)`)
    const models = rest.length === 1 ? modelNames(where, (rest[0] ?? '').split('|'), problems) : null
    return url === null ? [] : [{ url, key: keys[index] || null, models }]
  })
}

function readTargets(env: Env, problems: string[]): UpstreamTarget[] {
  const single = env.RELAY_UPSTREAM_URL?.trim() ?? ''
  const several = env.RELAY_UPSTREAM_URLS?.trim() ?? ''
  if (several === '') {
    if (env.RELAY_UPSTREAM_KEYS !== undefined) problems.push('RELAY_UPSTREAM_KEYS is set but RELAY_UPSTREAM_URLS is not')
    if (single === '') return []
    const url = baseUrl('RELAY_UPSTREAM_URL', single, problems)
    return url === null ? [] : [{ url, key: env.RELAY_UPSTREAM_KEY?.trim() || null, models: null }]
  }
  if (single !== '') problems.push('RELAY_UPSTREAM_URL and RELAY_UPSTREAM_URLS are both set: put every upstream in RELAY_UPSTREAM_URLS')
  if (env.RELAY_UPSTREAM_KEY !== undefined) problems.push('RELAY_UPSTREAM_KEY is for RELAY_UPSTREAM_URL; with RELAY_UPSTREAM_URLS, use RELAY_UPSTREAM_KEYS or the JSON form')
  const targets = several.startsWith('[') ? jsonTargets(several, env, problems) : listedTargets(several, env, problems)
  const seen = new Set<string>()
  for (const target of targets) {
    if (seen.has(target.url)) problems.push(`RELAY_UPSTREAM_URLS: ${target.url} is listed twice`)
    seen.add(target.url)
  }
  return targets
}

/** The upstreams, or null when none is configured; every problem goes to `problems`. */
export function loadUpstreamsConfig(env: Env, problems: string[]): UpstreamsConfig | null {
  const targets = readTargets(env, problems)
  if (targets.length === 0) return null
  const cooldownMs = readInteger(env, 'RELAY_UPSTREAM_BREAKER_COOLDOWN_MS', { fallback: 30_000, min: 100, max: 3_600_000 }, problems)
  return {
    targets,
    timeoutMs: readInteger(env, 'RELAY_UPSTREAM_TIMEOUT_MS', { fallback: 60_000, min: 100, max: 3_600_000 }, problems),
    retries: readInteger(env, 'RELAY_UPSTREAM_RETRIES', { fallback: 2, min: 0, max: 10 }, problems),
    breaker: {
      failureThreshold: readInteger(env, 'RELAY_UPSTREAM_BREAKER_FAILURES', { fallback: 3, min: 1, max: 1000 }, problems),
      cooldownMs,
      maxCooldownMs: cooldownMs * maxCooldownFactor,
    },
  }
}

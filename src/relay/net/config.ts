// Configuration of what the relay tells pages about the network (GET /net.json), from the
// environment:
//
//   RELAY_ICE_SERVERS     a JSON array of RTCIceServer (STUN, or TURN with fixed credentials)
//                         given to every page; default: one public STUN server
//   RELAY_SIGNALING_URLS  comma-separated ws:// or wss:// signaling URLs of the room's other
//                         relays, given to pages after the relay's own /signal; none
//   RELAY_TURN_URLS       comma-separated turn: or turns: URLs of a TURN server (coturn) run with
//                         use-auth-secret; each page gets credentials of its own for them; none
//   RELAY_TURN_SECRET     coturn's static-auth-secret (at least 16 characters); with RELAY_TURN_URLS
//   RELAY_TURN_TTL_S      how long handed-out TURN credentials work; 86400 (60 to 604800)
//   RELAY_NET_PER_MIN     GET /net.json answers per minute per address group (it hands out TURN
//                         credentials: no free faucet); 60
import * as v from 'valibot'
import { readInteger, type Env } from '../env'
import { IceServerSchema, type IceServer } from '../../shared/net-config'
import type { TurnSettings } from './turn'

export interface NetConfigSettings {
  iceServers: readonly IceServer[]
  signalingUrls: readonly string[]
  /** The TURN service pages get time-limited credentials for; null: none. */
  turn: TurnSettings | null
  /** GET /net.json answers per minute per address group. */
  perMin: number
}

export const defaultIceServers: readonly IceServer[] = [{ urls: 'stun:stun.l.google.com:19302' }]

const signalingUrlPattern = /^wss?:\/\/[^\s/]+(\/[^\s]*)?$/
const turnUrlPattern = /^turns?:[^\s,]{1,500}$/
const maxTurnUrls = 8
const minSecretChars = 16
const defaultTurnTtlS = 86_400
const minTurnTtlS = 60
const maxTurnTtlS = 7 * 86_400
const defaultNetPerMin = 60

/** RELAY_TURN_URLS, RELAY_TURN_SECRET and RELAY_TURN_TTL_S; null when neither URLs nor secret is set. */
function loadTurnSettings(env: Env, problems: string[]): TurnSettings | null {
  const urls = (env.RELAY_TURN_URLS ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
  const secret = env.RELAY_TURN_SECRET ?? ''
  const ttlS = readInteger(env, { name: 'RELAY_TURN_TTL_S', fallback: defaultTurnTtlS, min: minTurnTtlS, max: maxTurnTtlS, unit: 'seconds' }, problems)
  if (urls.length === 0 && secret === '') return null
  const before = problems.length
  for (const url of urls) {
    if (!turnUrlPattern.test(url)) problems.push(`RELAY_TURN_URLS: ${JSON.stringify(url.slice(0, 80))} is not a turn: or turns: URL like turn:turn.example.org:3478?transport=udp`)
  }
  if (urls.length > maxTurnUrls) problems.push(`RELAY_TURN_URLS: ${urls.length} URLs, at most ${maxTurnUrls}`)
  if (urls.length === 0) problems.push('RELAY_TURN_SECRET is set but RELAY_TURN_URLS is not: name the TURN server, like turn:turn.example.org:3478')
  if (secret === '') problems.push("RELAY_TURN_URLS is set but RELAY_TURN_SECRET is not: give it coturn's static-auth-secret")
  else if (secret.trim().length < minSecretChars) problems.push(`RELAY_TURN_SECRET has ${secret.trim().length} characters: use at least ${minSecretChars} (for example openssl rand -hex 32)`)
  return problems.length === before ? { urls, secret: secret.trim(), ttlS } : null
}

/** Reads the network settings; each problem goes to `problems`. */
export function loadNetSettings(env: Env, problems: string[]): NetConfigSettings {
  let iceServers: readonly IceServer[] = defaultIceServers
  const rawIce = env.RELAY_ICE_SERVERS?.trim() ?? ''
  if (rawIce !== '') {
    let parsed: unknown
    try {
      parsed = JSON.parse(rawIce)
    } catch (error) {
      problems.push(`RELAY_ICE_SERVERS is not JSON (${(error as Error).message}): expected an array like [{"urls":"stun:stun.example.org:3478"}]`)
    }
    if (parsed !== undefined) {
      const checked = v.safeParse(v.pipe(v.array(IceServerSchema), v.maxLength(12)), parsed)
      if (checked.success) iceServers = checked.output
      else problems.push(`RELAY_ICE_SERVERS: ${checked.issues.map((issue) => `${v.getDotPath(issue) ?? 'value'}: ${issue.message}`).join('; ')}`)
    }
  }
  const signalingUrls = (env.RELAY_SIGNALING_URLS ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
  for (const url of signalingUrls) {
    if (!signalingUrlPattern.test(url) || url.length > 512) problems.push(`RELAY_SIGNALING_URLS: ${JSON.stringify(url.slice(0, 80))} is not a ws:// or wss:// URL`)
  }
  const turn = loadTurnSettings(env, problems)
  const perMin = readInteger(env, { name: 'RELAY_NET_PER_MIN', fallback: defaultNetPerMin, min: 1, max: 1_000_000, unit: 'answers per minute' }, problems)
  return { iceServers, signalingUrls: signalingUrls.filter((url) => signalingUrlPattern.test(url)).slice(0, 15), turn, perMin }
}

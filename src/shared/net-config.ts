// GET /net.json: how a page reaches its room's peers, as the relay it came from tells it.
// A public contract between the relay and every page (DESIGN.md "The relay").
import * as v from 'valibot'

const maxServers = 16
const maxUrls = 16
const shortText = v.pipe(v.string(), v.maxLength(512))
const IceUrl = v.pipe(v.string(), v.regex(/^(stun|stuns|turn|turns):[^\s]{1,500}$/))
const SignalingUrl = v.pipe(v.string(), v.regex(/^wss?:\/\/[^\s/]+(\/[^\s]*)?$/), v.maxLength(512))

/** One RTCIceServer: STUN, or TURN with its (time-limited) credentials. */
export const IceServerSchema = v.object({
  urls: v.union([IceUrl, v.pipe(v.array(IceUrl), v.minLength(1), v.maxLength(maxUrls))]),
  username: v.optional(shortText),
  credential: v.optional(shortText),
})
export type IceServer = v.InferOutput<typeof IceServerSchema>

export const NetConfigSchema = v.object({
  v: v.literal(1),
  /** For every peer connection of the page (and of the relay's own room peer). */
  iceServers: v.pipe(v.array(IceServerSchema), v.maxLength(maxServers)),
  /** When the TURN credentials in `iceServers` stop working (ms since the epoch); null: nothing expires. */
  expiresAt: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0))),
  /** Whether `iceServers` has a TURN server: `ice=relay` needs one. */
  turn: v.boolean(),
  /** Signaling servers of this room's relays, the answering relay's own first. */
  signalingUrls: v.pipe(v.array(SignalingUrl), v.minLength(1), v.maxLength(maxUrls)),
})
export type NetConfig = v.InferOutput<typeof NetConfigSchema>

/** The path a page fetches it from; `?node=<nodeId>` names the TURN credentials' user. */
export const netConfigPath = '/net.json'

/** Credentials are renewed at this fraction of their lifetime, so links made late in it still work. */
const refreshAtFraction = 0.8
const minRefreshDelayMs = 5_000

/** How long until credentials that expire at `expiresAt` are asked for again; null: never. */
export function refreshDelayMs(expiresAt: number | null, nowMs: number): number | null {
  if (expiresAt === null) return null
  return Math.max(minRefreshDelayMs, Math.floor((expiresAt - nowMs) * refreshAtFraction))
}

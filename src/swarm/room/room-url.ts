import { RoomUrlError } from '../../shared/errors'
import { randomId } from '../../shared/ids'

import { engineChoices, type EngineChoice } from '../../inference/types'

export interface RoomConfig {
  room: string
  /** The room key from the URL fragment (never sent to a server); null for an open room. */
  key: string | null
  /** True when the URL named no room and one was made up: the UI offers a share link. */
  generated: boolean
  engine: EngineChoice
  model: string | null
  /** `sha256=`: what the link's `model` must hash to (64 hex digits, lowercased); the download is checked against it. */
  modelSha256?: string
  /** `ctx=`: the local model's context window in tokens, forced (tests use a small one); absent: chosen from the device's memory. */
  contextSize?: number
  /** How long a silent peer stays listed; shortened by tests. */
  peerTimeoutMs: number
  heartbeatMs: number
  /** This page's own relay's signaling URL; GET /net.json may add others. */
  signalingUrl: string
  /** `ice=relay`: every link through TURN (no peer learns this node's addresses); `all`: direct where possible. */
  ice: 'all' | 'relay'
  /** Problems that do not stop the node, shown to the user. */
  warnings: string[]
}

const roomPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
export const defaultPeerTimeoutMs = 15_000
const minPeerTimeoutMs = 1_000
const minForcedContext = 256
const maxForcedContext = 32_768

function isEngineChoice(value: string): value is EngineChoice {
  return (engineChoices as readonly string[]).includes(value)
}

/**
 * Reads the room, key and options from an app URL:
 * `/?room=NAME&engine=webgpu|wasm|none&model=URL&ctx=TOKENS&ice=relay|all#key=SECRET`. A bad room name throws
 * RoomUrlError; a bad option becomes a warning and its default.
 */
export function parseRoomUrl(href: string): RoomConfig {
  const url = new URL(href)
  const warnings: string[] = []
  const fragment = new URLSearchParams(url.hash.slice(1))
  const roomParam = url.searchParams.get('room')
  if (roomParam !== null && !roomPattern.test(roomParam)) {
    throw new RoomUrlError(`room name "${roomParam.slice(0, 80)}" is not valid: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  }
  const generated = roomParam === null
  const room = roomParam ?? `swarm-${randomId(8)}`
  const keyParam = fragment.get('key')
  const key = generated ? randomId(22) : keyParam === '' ? null : keyParam

  const engineParam = url.searchParams.get('engine') ?? 'auto'
  let engine: EngineChoice = 'auto'
  if (isEngineChoice(engineParam)) engine = engineParam
  else warnings.push(`unknown engine "${engineParam.slice(0, 40)}": use webgpu, wasm or none; choosing automatically`)

  const peerTimeoutMs = readNumber(url, 'peerTimeoutMs', defaultPeerTimeoutMs, minPeerTimeoutMs, warnings)
  const contextSize = url.searchParams.has('ctx') ? Math.min(maxForcedContext, Math.floor(readNumber(url, 'ctx', minForcedContext, minForcedContext, warnings))) : undefined
  const iceParam = url.searchParams.get('ice') ?? 'all'
  const ice = iceParam === 'relay' ? 'relay' : 'all'
  if (iceParam !== 'relay' && iceParam !== 'all') warnings.push(`unknown ice "${iceParam.slice(0, 40)}": use relay or all; connecting directly where possible`)
  const sha256Param = url.searchParams.get('sha256')
  const modelSha256 = sha256Param !== null && /^[0-9a-f]{64}$/i.test(sha256Param) ? sha256Param.toLowerCase() : undefined
  if (sha256Param !== null && modelSha256 === undefined) warnings.push(`sha256=${sha256Param.slice(0, 20)} is not 64 hex digits: the model's download is not checked against it`)
  const signalingUrl = `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}/signal`
  return {
    room,
    key,
    generated,
    engine,
    model: url.searchParams.get('model'),
    ...(modelSha256 === undefined ? {} : { modelSha256 }),
    ...(contextSize === undefined ? {} : { contextSize }),
    peerTimeoutMs,
    heartbeatMs: Math.max(250, Math.floor(peerTimeoutMs / 3)),
    signalingUrl,
    ice,
    warnings,
  }
}

function readNumber(url: URL, name: string, fallback: number, min: number, warnings: string[]): number {
  const text = url.searchParams.get(name)
  if (text === null) return fallback
  const value = Number(text)
  if (Number.isFinite(value) && value >= min) return value
  warnings.push(`${name}=${text.slice(0, 20)} is not a number ≥ ${min}: using ${fallback}`)
  return fallback
}

/** The link that lets another browser join this room, key included. */
export function shareLink(origin: string, config: Pick<RoomConfig, 'room' | 'key'>): string {
  const url = new URL('/', origin)
  url.searchParams.set('room', config.room)
  if (config.key !== null) url.hash = `key=${encodeURIComponent(config.key)}`
  return url.toString()
}

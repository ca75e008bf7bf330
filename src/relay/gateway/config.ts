// Configuration of the swarm gateway, from the environment (read by ../v1/config.ts):
//
//   RELAY_ROOMS               rooms the relay joins as a peer: `name` or `name#key`, comma-separated
//   RELAY_DATA_DIR            the relay's data directory (mode 0700): its identity, and each room's
//                             doc on disk (the replica); default $XDG_DATA_HOME/edgeswarm-relay or
//                             ~/.local/share/edgeswarm-relay, for the identity only
//   RELAY_KEY_FILE            a JSON file keeping the relay's Ed25519 identity across restarts;
//                             default <data dir>/relay-key.json; no data dir: a fresh identity in
//                             memory on every start
//   RELAY_REPLICA_MAX_BYTES   the largest room doc the replica keeps on disk; 67108864 (64 MiB)
//   RELAY_SWARM_SIGNALING_URL the signaling server the relay joins through; default: its own /signal
//   RELAY_SWARM_WAIT_MS       how long a request waits for a peer with a ready model; 5000
//   RELAY_SWARM_LINK_TIMEOUT_MS how long a WebRTC link may take to connect before it is closed; 15000
import path from 'node:path'
import type { Env } from '../config'
import { defaultDataDir } from '../replica/data-dir'
import { loadNetSettings, type NetConfigSettings } from '../net/config'

/** One room the relay joins: y-webrtc's room name, and its key (y-webrtc's password). */
export interface RoomSpec {
  name: string
  /** null: an open room. */
  key: string | null
}

export interface SwarmConfig {
  rooms: readonly RoomSpec[]
  /** Absolute path of the identity file; null: an identity in memory. */
  keyFile: string | null
  /** The data directory (absolute): made when the identity or the replica needs it; null: none. */
  dataDir: string | null
  /** Each room's doc kept under `<dataDir>/rooms` (only with RELAY_DATA_DIR set); null: in memory only. */
  replica: { maxBytes: number } | null
  signalingUrl: string
  peerWaitMs: number
  /** A link not connected this long is closed (an announce or offer nobody follows up). */
  linkTimeoutMs: number
  /** The ICE servers (and TURN service) the relay hands its pages; absent: none, host candidates only. */
  net?: NetConfigSettings
}

/** The same rule as the app's `?room=` (src/swarm/room/room-url.ts). */
const roomPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const maxKeyChars = 256
const defaultPeerWaitMs = 5_000
const defaultLinkTimeoutMs = 15_000
const defaultReplicaMaxBytes = 64 * 1024 * 1024
const minReplicaMaxBytes = 64 * 1024

/** Parses RELAY_ROOMS; each problem found goes to `problems`, in order. */
export function parseRooms(raw: string, problems: string[]): RoomSpec[] {
  const rooms: RoomSpec[] = []
  for (const item of raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')) {
    const hashAt = item.indexOf('#')
    const name = hashAt === -1 ? item : item.slice(0, hashAt)
    const key = hashAt === -1 ? null : item.slice(hashAt + 1)
    if (!roomPattern.test(name)) {
      problems.push(`RELAY_ROOMS: room name ${JSON.stringify(name.slice(0, 80))} is not valid: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`)
    } else if (key !== null && (key === '' || key.length > maxKeyChars)) {
      problems.push(`RELAY_ROOMS: the key of room ${name} must be 1 to ${maxKeyChars} characters (or leave out "#" for an open room)`)
    } else if (rooms.some((room) => room.name === name)) {
      problems.push(`RELAY_ROOMS: room ${name} is listed twice`)
    } else {
      rooms.push({ name, key })
    }
  }
  return rooms
}

/** Where a client on this machine reaches a server bound to `host`. */
function connectHost(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '')
  if (bare === '0.0.0.0' || bare === '') return '127.0.0.1'
  if (bare === '::') return '[::1]'
  return bare.includes(':') ? `[${bare}]` : bare
}

/**
 * The gateway's configuration; null when RELAY_ROOMS names no room. The relay signals through
 * itself, so without RELAY_SWARM_SIGNALING_URL it needs a fixed PORT.
 */
export function loadSwarmConfig(env: Env, host: string, cwd: string, problems: string[]): SwarmConfig | null {
  const rooms = parseRooms(env.RELAY_ROOMS ?? '', problems)
  if (rooms.length === 0) return null
  let signalingUrl = env.RELAY_SWARM_SIGNALING_URL?.trim() ?? ''
  if (signalingUrl !== '' && !/^wss?:\/\/[^/]+/.test(signalingUrl)) {
    problems.push(`RELAY_SWARM_SIGNALING_URL=${JSON.stringify(signalingUrl)}: expected a ws:// or wss:// URL`)
  }
  if (signalingUrl === '') {
    const port = env.PORT?.trim() || '8787'
    if (port === '0') problems.push('RELAY_ROOMS with PORT=0: the relay joins its rooms through its own /signal, so give it a fixed PORT (or set RELAY_SWARM_SIGNALING_URL)')
    signalingUrl = `ws://${connectHost(host)}:${port}/signal`
  }
  const rawWait = env.RELAY_SWARM_WAIT_MS?.trim() ?? ''
  const peerWaitMs = rawWait === '' ? defaultPeerWaitMs : /^\d+$/.test(rawWait) ? Number(rawWait) : Number.NaN
  if (!Number.isSafeInteger(peerWaitMs) || peerWaitMs > 600_000) problems.push(`RELAY_SWARM_WAIT_MS=${JSON.stringify(rawWait)}: expected an integer from 0 to 600000`)
  const rawLinkTimeout = env.RELAY_SWARM_LINK_TIMEOUT_MS?.trim() ?? ''
  const linkTimeoutMs = rawLinkTimeout === '' ? defaultLinkTimeoutMs : /^\d+$/.test(rawLinkTimeout) ? Number(rawLinkTimeout) : Number.NaN
  const linkTimeoutValid = Number.isSafeInteger(linkTimeoutMs) && linkTimeoutMs >= 1_000 && linkTimeoutMs <= 600_000
  if (!linkTimeoutValid) problems.push(`RELAY_SWARM_LINK_TIMEOUT_MS=${JSON.stringify(rawLinkTimeout)}: expected an integer from 1000 to 600000`)
  const explicitDataDir = env.RELAY_DATA_DIR?.trim() ?? ''
  const dataDir = explicitDataDir === '' ? defaultDataDir(env) : path.resolve(cwd, explicitDataDir)
  const keyFile = env.RELAY_KEY_FILE?.trim() ?? ''
  const rawMax = env.RELAY_REPLICA_MAX_BYTES?.trim() ?? ''
  const maxBytes = rawMax === '' ? defaultReplicaMaxBytes : /^\d+$/.test(rawMax) ? Number(rawMax) : Number.NaN
  if (!Number.isSafeInteger(maxBytes) || maxBytes < minReplicaMaxBytes) problems.push(`RELAY_REPLICA_MAX_BYTES=${JSON.stringify(rawMax)}: expected an integer of at least ${minReplicaMaxBytes}`)
  return {
    rooms,
    keyFile: keyFile !== '' ? path.resolve(cwd, keyFile) : dataDir === null ? null : path.join(dataDir, 'relay-key.json'),
    dataDir,
    replica: explicitDataDir === '' ? null : { maxBytes: Number.isSafeInteger(maxBytes) ? maxBytes : defaultReplicaMaxBytes },
    signalingUrl,
    peerWaitMs: Number.isSafeInteger(peerWaitMs) ? peerWaitMs : defaultPeerWaitMs,
    linkTimeoutMs: linkTimeoutValid ? linkTimeoutMs : defaultLinkTimeoutMs,
    // Its problems are the relay's configuration's, listed there (loadConfig) and not twice.
    net: loadNetSettings(env, []),
  }
}

/** The models the gateway serves: `swarm/<room>` per room (`swarm` is the first room). */
export function roomOfModel(model: string, rooms: readonly RoomSpec[]): RoomSpec | null {
  if (model === 'swarm') return rooms[0] ?? null
  if (!model.startsWith('swarm/')) return null
  const name = model.slice('swarm/'.length)
  return rooms.find((room) => room.name === name) ?? null
}

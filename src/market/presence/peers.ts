import * as v from 'valibot'
import { jsonByteLength } from '../../shared/encoding'
import { AnyVersionPresenceSchema, maxAwarenessBytes, PROTOCOL_VERSION, SignedPresenceSchema, type SignedPresence } from '../../shared/protocol'

/**
 * Why a peer's awareness state is not used. The first three are read from the state alone; the
 * rest need its signature and what this node has seen before (src/market/presence/tracker.ts).
 * - oversized: bigger than `maxAwarenessBytes`; malformed: fails the schema;
 *   version: another protocol version;
 * - signature: unsigned, not signed by the key whose hash is its `nodeId`, or signed for another
 *   room or awareness client;
 * - clock: its signer's clock (`at`) is too far from this node's;
 * - replay: older than a state of the same node and client this node has already verified;
 * - cap: the link it came over already brought as many states as a link may.
 */
export type Refusal = 'oversized' | 'malformed' | 'version' | 'signature' | 'clock' | 'replay' | 'cap'

/** A node of the room as this node sees it. Several tabs of one profile are one node. */
export interface Peer {
  nodeId: string
  /**
   * True only for a node whose state is verified (schema, signature, room, clock): the only
   * kind that counts anywhere. False ones (another protocol version, an unverified or refused
   * state) are shown, never used.
   */
  compatible: boolean
  proto: number
  presence: SignedPresence | null
  lastSeenMs: number
  tabs: number
  /** Why this node is not used; null when it is compatible. */
  refused: Refusal | null
}

/** A verified presence, or why a state is refused, with what it claims when that could be read. */
export type StateCheck = { ok: true; presence: SignedPresence } | { ok: false; reason: Refusal; nodeId: string | null; proto: number | null }

/** What can be told of a state without its signature: the first half of every check. */
export function parseState(state: unknown): StateCheck {
  if (jsonByteLength(state) > maxAwarenessBytes) return { ok: false, reason: 'oversized', nodeId: null, proto: null }
  const parsed = v.safeParse(SignedPresenceSchema, state)
  if (parsed.success) return { ok: true, presence: parsed.output }
  const loose = v.safeParse(AnyVersionPresenceSchema, state)
  if (!loose.success) return { ok: false, reason: 'malformed', nodeId: null, proto: null }
  return { ok: false, reason: loose.output.proto === PROTOCOL_VERSION ? 'malformed' : 'version', nodeId: loose.output.nodeId, proto: loose.output.proto }
}

export interface CheckedState {
  check: StateCheck
  lastSeenMs: number
}

/**
 * The peers from the checked remote states: heard from within `peerTimeoutMs`, not this node
 * itself; one entry per node id, sorted by node id. A verified state of a node always wins over
 * a refused one claiming the same id (else anyone could hide a node by posing as it badly);
 * among states of one kind the freshest tab is kept. A refused state that says no node id is
 * not listed.
 */
export function derivePeers(states: Iterable<CheckedState>, selfNodeId: string, nowMs: number, peerTimeoutMs: number): Peer[] {
  const byNode = new Map<string, Peer>()
  for (const { check, lastSeenMs } of states) {
    if (nowMs - lastSeenMs > peerTimeoutMs) continue
    const peer = peerOf(check, lastSeenMs)
    if (!peer || peer.nodeId === selfNodeId) continue
    const known = byNode.get(peer.nodeId)
    if (!known || (peer.compatible && !known.compatible)) byNode.set(peer.nodeId, peer)
    else if (peer.compatible === known.compatible) byNode.set(peer.nodeId, { ...(lastSeenMs > known.lastSeenMs ? peer : known), tabs: known.tabs + 1 })
  }
  return [...byNode.values()].sort((a, b) => a.nodeId.localeCompare(b.nodeId))
}

function peerOf(check: StateCheck, lastSeenMs: number): Peer | null {
  if (check.ok) return { nodeId: check.presence.nodeId, compatible: true, proto: check.presence.proto, presence: check.presence, lastSeenMs, tabs: 1, refused: null }
  if (check.nodeId === null) return null
  return { nodeId: check.nodeId, compatible: false, proto: check.proto ?? PROTOCOL_VERSION, presence: null, lastSeenMs, tabs: 1, refused: check.reason }
}

export interface PeerDiff {
  joined: Peer[]
  left: Peer[]
}

export function diffPeers(before: readonly Peer[], after: readonly Peer[]): PeerDiff {
  const beforeIds = new Set(before.map((peer) => peer.nodeId))
  const afterIds = new Set(after.map((peer) => peer.nodeId))
  return {
    joined: after.filter((peer) => !beforeIds.has(peer.nodeId)),
    left: before.filter((peer) => !afterIds.has(peer.nodeId)),
  }
}

import * as v from 'valibot'
import { jsonByteLength } from '../shared/encoding'
import { AnyVersionPresenceSchema, maxAwarenessBytes, PresenceSchema, type Presence } from '../shared/protocol'

/** A node of the room as this node sees it. Several tabs of one profile are one node. */
export interface Peer {
  nodeId: string
  /** False for a node speaking another protocol version: shown, never used. */
  compatible: boolean
  proto: number
  presence: Presence | null
  lastSeenMs: number
  tabs: number
}

export type StateCheck = { ok: true; presence: Presence } | { ok: false; nodeId: string; proto: number } | { ok: false; nodeId: null }

/** Validates one awareness state from a peer against the schema and the size limit. */
export function checkState(state: unknown): StateCheck {
  if (jsonByteLength(state) > maxAwarenessBytes) return { ok: false, nodeId: null }
  const parsed = v.safeParse(PresenceSchema, state)
  if (parsed.success) return { ok: true, presence: parsed.output }
  const loose = v.safeParse(AnyVersionPresenceSchema, state)
  return loose.success ? { ok: false, nodeId: loose.output.nodeId, proto: loose.output.proto } : { ok: false, nodeId: null }
}

export interface RemoteState {
  state: unknown
  lastSeenMs: number
}

/**
 * The live peers from the remote awareness states: valid, heard from within `peerTimeoutMs`,
 * not this node itself; one entry per node id (its freshest tab), sorted by node id.
 */
export function derivePeers(states: Iterable<RemoteState>, selfNodeId: string, nowMs: number, peerTimeoutMs: number, check: (state: unknown) => StateCheck = checkState): Peer[] {
  const byNode = new Map<string, Peer>()
  for (const { state, lastSeenMs } of states) {
    if (nowMs - lastSeenMs > peerTimeoutMs) continue
    const peer = peerOf(check(state), lastSeenMs)
    if (!peer || peer.nodeId === selfNodeId) continue
    const nodeId = peer.nodeId
    const known = byNode.get(nodeId)
    if (!known) byNode.set(nodeId, peer)
    else byNode.set(nodeId, { ...(lastSeenMs > known.lastSeenMs ? peer : known), tabs: known.tabs + 1 })
  }
  return [...byNode.values()].sort((a, b) => a.nodeId.localeCompare(b.nodeId))
}

function peerOf(check: StateCheck, lastSeenMs: number): Peer | null {
  if (check.ok) return { nodeId: check.presence.nodeId, compatible: true, proto: check.presence.proto, presence: check.presence, lastSeenMs, tabs: 1 }
  if (check.nodeId === null) return null
  return { nodeId: check.nodeId, compatible: false, proto: check.proto, presence: null, lastSeenMs, tabs: 1 }
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

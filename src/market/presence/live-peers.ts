import type { LivePeer } from '../types'
import type { Peer } from './peers'

/** Guessed one-way delay to a peer until we measure it. */
const assumedLinkDelayMs = 20

/**
 * The room's peers as the market needs them (bidding waves, "every capable peer has bid", the
 * gateway's ready-peer wait): only verified peers, those whose presence is signed by their own
 * key for this room and live (`compatible`); refused and unverified states never count.
 */
export function livePeersOf(peers: readonly Peer[]): LivePeer[] {
  return peers.flatMap((peer) =>
    peer.compatible && peer.presence
      ? [{ nodeId: peer.nodeId, engine: peer.presence.engine ?? null, queueLength: peer.presence.queue ?? 0, visible: peer.presence.visible, linkDelayMs: assumedLinkDelayMs }]
      : [],
  )
}

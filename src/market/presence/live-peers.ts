import type { LivePeer } from '../types'
import type { Peer } from './peers'

/** Guessed one-way delay to a peer until its link's round-trip time is measured. */
export const assumedLinkDelayMs = 20

/** A link's measured round-trip time by the y-webrtc id of its peer (a presence's `linkId`); undefined: not measured. */
export type LinkRttOf = (linkId: string) => number | null | undefined

/**
 * The room's peers as the market needs them (bidding waves, "every capable peer has bid", the
 * gateway's ready-peer wait): only verified peers, those whose presence is signed by their own
 * key for this room and live (`compatible`); refused and unverified states never count.
 */
export function livePeersOf(peers: readonly Peer[], linkRttOf: LinkRttOf = () => undefined): LivePeer[] {
  const claims = new Map<string, number>()
  for (const peer of peers) if (peer.compatible && peer.presence) claims.set(peer.presence.linkId, (claims.get(peer.presence.linkId) ?? 0) + 1)
  // A link id is what a peer says of itself: one claimed by two peers (a copycat) measures neither.
  const measuredRttOf: LinkRttOf = (linkId) => (claims.get(linkId) === 1 ? linkRttOf(linkId) : undefined)
  return peers.flatMap((peer) =>
    peer.compatible && peer.presence
      ? [
          {
            nodeId: peer.nodeId,
            engine: peer.presence.engine ?? null,
            queueLength: peer.presence.queue ?? 0,
            visible: peer.presence.visible,
            linkDelayMs: linkDelayOf(peer.presence.linkId, measuredRttOf),
            serve: peer.presence.serve,
            embedder: peer.presence.embedder ?? null,
          },
        ]
      : [],
  )
}

/** One-way delay: half the measured round trip of the link to the peer, the guess until there is one. */
function linkDelayOf(linkId: string, linkRttOf: LinkRttOf): number {
  const rttMs = linkId === '' ? undefined : linkRttOf(linkId)
  return typeof rttMs === 'number' && Number.isFinite(rttMs) && rttMs >= 0 ? rttMs / 2 : assumedLinkDelayMs
}

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

/**
 * `livePeersOf` kept between calls while the peers and the link stats are the same objects: a
 * presence tracker and a link monitor hand out new ones when anything in them changes, so the
 * market's many reads of a large room cost no new list each.
 */
export function keptLivePeers(peers: () => readonly Peer[], links: () => ReadonlyMap<string, { rttMs: number | null }> = () => noLinks): () => LivePeer[] {
  let kept: { peers: readonly Peer[]; links: ReadonlyMap<string, { rttMs: number | null }>; live: LivePeer[] } | null = null
  return () => {
    const now = { peers: peers(), links: links() }
    if (kept === null || kept.peers !== now.peers || kept.links !== now.links) kept = { ...now, live: livePeersOf(now.peers, (linkId) => now.links.get(linkId)?.rttMs) }
    return kept.live
  }
}

const noLinks: ReadonlyMap<string, { rttMs: number | null }> = new Map()

/** One-way delay: half the measured round trip of the link to the peer, the guess until there is one. */
function linkDelayOf(linkId: string, linkRttOf: LinkRttOf): number {
  const rttMs = linkId === '' ? undefined : linkRttOf(linkId)
  return typeof rttMs === 'number' && Number.isFinite(rttMs) && rttMs >= 0 ? rttMs / 2 : assumedLinkDelayMs
}

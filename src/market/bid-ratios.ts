/**
 * How far each peer's bids fell from what its presence says (log of bid / the estimate this
 * node computes from that peer's presence), over its last few bids: the confidence the early
 * award needs to bound a bid that has not come yet. An honest peer bids its presence estimate,
 * corrected by its own speed model and up to 5 % of tie spread; one that bid far under its
 * presence before is expected to do it again, so the poster waits for it. Local to each poster,
 * learnt only from verified bids.
 */
export class BidRatios {
  readonly #peers = new Map<string, number[]>()

  /** A peer never seen bidding may bid down to half its presence estimate (its own speed model's correction). */
  static readonly unseenLogRatio = -Math.log(2)
  /** Bids remembered per peer: a change of its engine or model shows within a few tasks. */
  static readonly window = 8
  /** Peers remembered; the least recently seen is forgotten first. */
  static readonly maxPeers = 512

  /** A verified bid of `bidMs` from a peer whose presence gives `presenceMs`; junk is ignored. */
  observe(peerId: string, presenceMs: number, bidMs: number): void {
    if (!Number.isFinite(presenceMs) || !Number.isFinite(bidMs) || presenceMs <= 0 || bidMs <= 0) return
    const ratios = this.#peers.get(peerId) ?? []
    ratios.push(Math.log(bidMs / presenceMs))
    if (ratios.length > BidRatios.window) ratios.shift()
    this.#peers.delete(peerId)
    this.#peers.set(peerId, ratios)
    const oldest = this.#peers.keys().next()
    if (this.#peers.size > BidRatios.maxPeers && !oldest.done) this.#peers.delete(oldest.value)
  }

  /** The lowest log ratio of bid to presence estimate this peer plausibly bids: its lowest recent one, never above 0. */
  lowestLogRatio(peerId: string): number {
    const ratios = this.#peers.get(peerId)
    if (!ratios?.length) return BidRatios.unseenLogRatio
    return Math.min(0, ...ratios)
  }
}

/**
 * Each node's ratios, kept beside its market context (the key) for as long as that lives: every
 * task the node posts learns from and reads the same record.
 */
const byNode = new WeakMap<object, BidRatios>()

export function bidRatiosOf(node: object): BidRatios {
  let ratios = byNode.get(node)
  if (!ratios) byNode.set(node, (ratios = new BidRatios()))
  return ratios
}

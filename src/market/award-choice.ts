import { chooseWinner } from './award'
import type { MarketContext } from './context'
import { speedQueryOf } from './estimate'
import type { Bid, Spec } from './schema'
import { servesPeers } from './serve'
import { predictedMs, type SpeedBasis } from './speed'

/** The poster's choice among the bids: the winner, what it was scored at, and from what. */
export interface AwardChoice {
  winner: Bid
  estimateMs: number
  basis: SpeedBasis | null
}

export interface AwardAvoid {
  /** Peers that already failed this task. */
  excluded: ReadonlySet<string>
  /** Peers running other parts of the same job. */
  siblings: ReadonlySet<string> | null
  /** Whether the wait before falling back to those (and to suspects) is over. */
  fallbackReady: boolean
}

/**
 * The winning bid among the live bidders' or null. Each tier gives up one preference: siblings
 * of the job, then peers that already failed this task, then suspects. The last two only after
 * a wait: a peer whose queue was full bids once it has room, and must not lose the task to a
 * suspect that bid at once.
 */
export function chooseAward(ctx: MarketContext, spec: Spec, bids: readonly Bid[], avoid: AwardAvoid): AwardChoice | null {
  // A peer whose presence says it serves nobody is not awarded, whatever it bid.
  const live = new Set(
    ctx
      .livePeers()
      .filter(servesPeers)
      .map((peer) => peer.nodeId),
  )
  const candidates = bids.filter((bid) => live.has(bid.bidder))
  const suspected = new Set(candidates.filter((bid) => ctx.suspicion.suspected(bid.bidder)).map((bid) => bid.bidder))
  const scored = scoreBids(ctx, spec, candidates)
  const estimateOf = (bid: Bid): number => scored.get(bid.bidder)?.estimateMs ?? bid.estimateMs
  const tiers = [new Set([...avoid.excluded, ...(avoid.siblings ?? []), ...suspected]), new Set([...avoid.excluded, ...suspected]), ...(avoid.fallbackReady ? [suspected, new Set<string>()] : [])]
  for (const tier of tiers) {
    const winner = chooseWinner(candidates, tier, (nodeId) => ctx.reputation(nodeId), estimateOf)
    if (winner) return { winner, estimateMs: estimateOf(winner), basis: scored.get(winner.bidder)?.basis ?? null }
  }
  return null
}

/** How long a task waits for better bidders before it settles for those it avoided. */
export function fallbackWaitMs(config: MarketContext['config']): number {
  return Math.max(10 * config.bidWindowMs, 2 * config.leaseMs)
}

/** How long an executor has to deliver what it estimated, before it counts as a broken promise. */
export function deliveryBudgetMs(config: MarketContext['config'], estimateMs: number): number {
  return Math.max(config.deliveryFactor * estimateMs, estimateMs + config.deliveryGraceMs)
}

/**
 * Each bid's estimate as the speed model corrects it, from the bidder's presence as this node
 * sees it now. The bidder's own claim is the base: the model learns how far each peer's claims
 * hold. This node's own bid is left as it is (its executor half already corrected it and learns
 * from its own runs); so is a bid from a peer with no presence.
 */
function scoreBids(ctx: MarketContext, spec: Spec, bids: readonly Bid[]): Map<string, { estimateMs: number; basis: SpeedBasis }> {
  const scored = new Map<string, { estimateMs: number; basis: SpeedBasis }>()
  const peers = new Map(ctx.livePeers().map((peer) => [peer.nodeId, peer]))
  for (const bid of bids) {
    const peer = peers.get(bid.bidder)
    const query = peer && bid.bidder !== ctx.signer.nodeId ? speedQueryOf(peer, spec.request) : null
    if (!query) continue
    const basis = { query, baseMs: bid.estimateMs }
    scored.set(bid.bidder, { estimateMs: predictedMs(ctx, bid.bidder, basis), basis })
  }
  return scored
}

import { chooseWinner } from './award'
import type { MarketContext } from './context'
import type { BidRatios } from './bid-ratios'
import { bidFloorMs, capableOf, estimateTaskMs, speedQueryOf } from './estimate'
import type { Bid, Spec } from './schema'
import { servesPeers } from './serve'
import { predictedMs, type SpeedBasis } from './speed'
import type { LivePeer } from './types'

/** The poster's choice among the bids: the winner, what it was scored at, and from what. */
export interface AwardChoice {
  winner: Bid
  estimateMs: number
  basis: SpeedBasis | null
  /** Whether the winner came from the first tier (none of the peers it avoids): only such a choice may be made early. */
  preferred: boolean
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
  for (const [index, tier] of tiers.entries()) {
    const winner = chooseWinner(candidates, tier, (nodeId) => ctx.reputation(nodeId), estimateOf)
    if (winner) return { winner, estimateMs: estimateOf(winner), basis: scored.get(winner.bidder)?.basis ?? null, preferred: index === 0 }
  }
  return null
}

/**
 * How much better than the best bid in hand a missing peer's bid may plausibly be, as a share,
 * for the poster to award without waiting for it: the most an early award gives up. Above the
 * executors' 5 % tie spread, so identical peers do not wait for each other.
 */
export const earlyAwardMargin = 0.1

export type EarlyAwardContext = Pick<MarketContext, 'livePeers' | 'suspicion' | 'reputation' | 'speed' | 'report' | 'config' | 'signer'>

/**
 * Whether the choice can be signed before the bid window ends: waiting could not win more than
 * `earlyAwardMargin`. The winner is scored at its corrected estimate but never under its own
 * signed bid (a presence that claims speeds it does not have must not lower it; its bid is a
 * promise the delivery budget holds it to); every live capable peer that has not bid and would
 * be preferred (not avoided, not suspected) is scored at its lowest plausible bid. Only a
 * first-tier choice goes early: one among avoided peers waits for the window and the fallback.
 */
export function awardsEarly(ctx: EarlyAwardContext, spec: Spec, choice: AwardChoice, bids: ReadonlyMap<string, Bid>, avoid: AwardAvoid, ratios: BidRatios): boolean {
  if (!choice.preferred) return false
  const winnerScore = Math.max(choice.estimateMs, choice.winner.estimateMs) / Math.max(ctx.reputation(choice.winner.bidder), 0.01)
  const floorMs = bidFloorMs(spec.request)
  for (const peer of ctx.livePeers()) {
    const id = peer.nodeId
    if (bids.has(id) || avoid.excluded.has(id) || avoid.siblings?.has(id) || ctx.suspicion.suspected(id) || !capableOf(peer, spec) || !servesPeers(peer)) continue
    const lowest = lowestPlausibleScore(ctx, spec, peer, ratios, floorMs)
    if (lowest !== null && winnerScore > (1 + earlyAwardMargin) * lowest) return false
  }
  return true
}

/**
 * The best score a peer that has not bid could plausibly get: its presence estimate, lowered by
 * the furthest its bids fell under its presence lately, not under the physical floor (a bid
 * there is refused), then corrected by the speed model as its bid would be. Null: its presence
 * says it will not bid (its queue is full).
 */
export function lowestPlausibleScore(
  ctx: Pick<EarlyAwardContext, 'speed' | 'report' | 'reputation' | 'config' | 'signer'>,
  spec: Spec,
  peer: LivePeer,
  ratios: BidRatios,
  floorMs = bidFloorMs(spec.request),
): number | null {
  const presenceMs = estimateTaskMs(peer, spec, ctx.config.maxQueue)
  if (presenceMs === null) return null
  const bidMs = Math.max(floorMs, presenceMs * Math.exp(ratios.lowestLogRatio(peer.nodeId)))
  const query = peer.nodeId !== ctx.signer.nodeId ? speedQueryOf(peer, spec.request) : null
  const correctedMs = query ? predictedMs(ctx, peer.nodeId, { query, baseMs: bidMs }) : bidMs
  return correctedMs / Math.max(ctx.reputation(peer.nodeId), 0.01)
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

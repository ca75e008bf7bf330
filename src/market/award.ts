import { fnv1a } from '../shared/hash'

export { fnv1a }

/** A bid as the award needs it: who, and how long they say it takes. */
export interface BidLike {
  bidder: string
  estimateMs: number
}

/**
 * The winning bid, or null: the lowest estimate divided by the bidder's reputation (0..1, 1
 * when unknown), ties broken by node id. `estimateOf` reads a bid's estimate (the poster's
 * speed model corrects it there); it must be a pure function of the bid for the same bids in
 * any order to give the same winner.
 */
export function chooseWinner<B extends BidLike>(
  bids: Iterable<B>,
  exclude: ReadonlySet<string> = new Set(),
  reputation: (nodeId: string) => number = () => 1,
  estimateOf: (bid: B) => number = (bid) => bid.estimateMs,
): B | null {
  let best: B | null = null
  let bestScore = Infinity
  for (const bid of bids) {
    if (exclude.has(bid.bidder)) continue
    const score = estimateOf(bid) / Math.max(reputation(bid.bidder), 0.01)
    if (score < bestScore || (score === bestScore && best !== null && bid.bidder < best.bidder)) {
      best = bid
      bestScore = score
    }
  }
  return best
}

/** Fencing: a write counts only when it comes from the current award's epoch and executor. */
export function acceptsWrite(award: { epoch: number; executor: string } | null, write: { epoch: number; executor?: string }): boolean {
  if (!award || write.epoch !== award.epoch) return false
  return write.executor === undefined || write.executor === award.executor
}

/**
 * The poster's view of a lease: it lapses `leaseMs` after the last renewal this node saw (its
 * own clock, so clock skew between nodes does not matter).
 */
export function leaseLapsed(lastRenewalSeenAtMs: number, leaseMs: number, nowMs: number): boolean {
  return nowMs - lastRenewalSeenAtMs > leaseMs
}

/**
 * Rank of `nodeId` among `nodeIds` for a task by rendezvous hashing: every node computes the
 * same order, so the first few bid at once and the rest only if those do not.
 */
export function rendezvousRank(taskId: string, nodeId: string, nodeIds: Iterable<string>): number {
  const own = fnv1a(`${taskId}/${nodeId}`)
  let rank = 0
  for (const other of nodeIds) {
    if (other === nodeId) continue
    const hash = fnv1a(`${taskId}/${other}`)
    if (hash < own || (hash === own && other < nodeId)) rank++
  }
  return rank
}

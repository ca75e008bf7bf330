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

/** How many times the longest gap an executor already showed between two signs of life its window allows. */
export const gapFactor = 2.5

/** What the poster knows of the executor's liveness during one award. */
export interface Liveness {
  /** Whether the executor's own (signed) presence says its tab is visible; false also when it is not in the room's presence. */
  visible: boolean
  /** The longest gap between two of its signs of life seen so far in this award (0: fewer than two). */
  maxGapMs: number
  /** How long the task is expected to take on it (the award's estimate; Infinity when unknown). */
  expectedMs: number
}

/**
 * How long the poster waits, with neither a renewal nor a fresh output batch, before the award
 * lapses. A visible executor gets `liveMs` (a frozen tab is replaced in under a second), or
 * more when it already showed longer gaps (a loaded machine: its window follows its own rhythm,
 * `gapFactor` times the longest gap), but not more than the task is expected to take: a short
 * task keeps a short lease, since waiting longer than the whole answer takes gains nothing. A
 * hidden executor gets `leaseMs`, since its browser throttles its timers to once a second.
 * Never more than `leaseMs`: a slow executor is no worse off than with a fixed lease, and only
 * the executor's own signed renewals and batches (and presence) move the window.
 */
export function liveWindowMs(config: { leaseMs: number; liveMs: number }, liveness: Liveness): number {
  if (!liveness.visible) return config.leaseMs
  return Math.min(config.leaseMs, Math.max(config.liveMs, Math.min(gapFactor * liveness.maxGapMs, liveness.expectedMs)))
}

/** How fast what `PeerRhythm` learned of a peer fades: a machine loaded a while ago may be idle now. */
export const rhythmHalfLifeMs = 60_000

/**
 * The longest gap between signs of life each executor showed this poster, over all its awards,
 * fading with `rhythmHalfLifeMs`: a loaded executor's window is wide from its next award's first
 * renewal on, not only after it showed a long gap in that award.
 */
export class PeerRhythm {
  readonly #gaps = new Map<string, { gapMs: number; at: number }>()

  constructor(private readonly maxPeers = 1_000) {}

  gapMs(nodeId: string, nowMs: number): number {
    const seen = this.#gaps.get(nodeId)
    return seen ? seen.gapMs * 0.5 ** (Math.max(0, nowMs - seen.at) / rhythmHalfLifeMs) : 0
  }

  observe(nodeId: string, gapMs: number, nowMs: number): void {
    const gap = Math.max(this.gapMs(nodeId, nowMs), gapMs)
    this.#gaps.delete(nodeId)
    this.#gaps.set(nodeId, { gapMs: gap, at: nowMs })
    // The oldest first: a room's churn does not grow the map without end.
    if (this.#gaps.size > this.maxPeers) this.#gaps.delete(this.#gaps.keys().next().value ?? '')
  }
}

/** How often an executor shows a sign of life (a renewal, unless an output batch just went out). */
export function renewEveryMs(config: { leaseMs: number; renewMs: number }): number {
  return Math.min(config.renewMs, config.leaseMs / 3)
}

/** murmur3's 32-bit finalizer: each input bit flips about half of the output bits. */
export function fmix32(value: number): number {
  let h = value >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A node's rendezvous score for a task: fmix32 of the two ids' fnv1a hashes XORed, so a node id is hashed once for every task. */
export function rendezvousScore(taskHash: number, nodeHash: number): number {
  return fmix32(taskHash ^ nodeHash)
}

/**
 * Rendezvous hashing for a task's waves of bidders: every node computes the same order of the
 * room, so the first few bid at once and the rest only if those do not. Each node keeps its own
 * cache of the room's id hashes: ranking a task in a room of n costs n lookups, not n string hashes.
 */
export class RendezvousRanker {
  readonly #hashes = new Map<string, number>()

  constructor(private readonly maxIds = 65_536) {}

  /** Rank of `nodeId` among `nodeIds` (which may hold it) for the task: how many score below it, ties by id. */
  rank(taskId: string, nodeId: string, nodeIds: Iterable<string>): number {
    return this.#rankOf(fnv1a(taskId), nodeId, nodeIds)
  }

  #rankOf(task: number, nodeId: string, nodeIds: Iterable<string>): number {
    const own = rendezvousScore(task, this.hashOf(nodeId))
    let rank = 0
    for (const other of nodeIds) {
      if (other === nodeId) continue
      const score = rendezvousScore(task, this.hashOf(other))
      if (score < own || (score === own && other < nodeId)) rank++
    }
    return rank
  }

  /**
   * Which wave of `perWave` bidders `nodeId` is in for the task among the `count` capable peers
   * (it may be among them), listed by `nodeIds`. Only a node whose score puts it near the front
   * (an estimated rank under `exactWaves` waves) lists and counts the peers ahead of it; the rest
   * take the estimate: their score's quantile times the room. A node whose true rank is r
   * estimates r + 1 ± √(r + 1), so the first waves are the exact ones every node agrees on, and
   * most of a large room places itself in O(1), without a list of the room.
   */
  wave(taskId: string, nodeId: string, count: number, nodeIds: () => Iterable<string>, perWave: number, exactWaves = 4): number {
    const task = fnv1a(taskId)
    const estimate = (rendezvousScore(task, this.hashOf(nodeId)) / 2 ** 32) * count
    if (estimate >= exactWaves * perWave) return Math.floor(estimate / perWave)
    return Math.floor(this.#rankOf(task, nodeId, nodeIds()) / perWave)
  }

  hashOf(nodeId: string): number {
    let hash = this.#hashes.get(nodeId)
    if (hash === undefined) {
      hash = fnv1a(nodeId)
      // A room's churn does not grow the cache without end: start over (ids come back at one hash each).
      if (this.#hashes.size >= this.maxIds) this.#hashes.clear()
      this.#hashes.set(nodeId, hash)
    }
    return hash
  }
}

/** Rank of `nodeId` among `nodeIds` for a task, without a cache (see RendezvousRanker). */
export function rendezvousRank(taskId: string, nodeId: string, nodeIds: Iterable<string>): number {
  return new RendezvousRanker().rank(taskId, nodeId, nodeIds)
}

import { tokenize } from '../shared/text'
import type { Vote } from './schema'

type WordCounts = Map<string, number>

function wordCounts(text: string): WordCounts {
  const counts = new Map<string, number>()
  for (const word of tokenize(text)) counts.set(word, (counts.get(word) ?? 0) + 1)
  return counts
}

/** Cosine similarity of two texts' word counts, 0..1; two empty texts are equal. */
export function similarity(a: string, b: string): number {
  return cosine(wordCounts(a), wordCounts(b))
}

function cosine(countsA: WordCounts, countsB: WordCounts): number {
  if (countsA.size === 0 && countsB.size === 0) return 1
  let dot = 0
  let normA = 0
  let normB = 0
  for (const [word, count] of countsA) {
    normA += count * count
    dot += count * (countsB.get(word) ?? 0)
  }
  for (const count of countsB.values()) normB += count * count
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB)
}

export interface Ballot {
  executor: string
  text: string
}

export interface VoteOutcome<B extends Ballot> {
  chosen: B
  /** Executors whose answers agree with the chosen one. */
  winners: string[]
  /** Executors whose answers were too unlike the chosen one. */
  outvoted: string[]
}

/**
 * Picks the answer most like the others (sum of similarities; ties by executor id); answers
 * less similar to it than `agreeAt` are outvoted. Null for no ballots.
 */
export function vote<B extends Ballot>(ballots: readonly B[], agreeAt = 0.6): VoteOutcome<B> | null {
  // Each answer (up to 200 KB) is counted once, not once per pair.
  const counts = new Map(ballots.map((ballot) => [ballot, wordCounts(ballot.text)]))
  const countsOf = (ballot: B): WordCounts => counts.get(ballot) ?? new Map<string, number>()
  let chosen: B | null = null
  let bestScore = -1
  for (const ballot of ballots) {
    let score = 0
    for (const other of ballots) if (other !== ballot) score += cosine(countsOf(ballot), countsOf(other))
    if (score > bestScore || (score === bestScore && chosen !== null && ballot.executor < chosen.executor)) {
      chosen = ballot
      bestScore = score
    }
  }
  if (!chosen) return null
  const winners: string[] = []
  const outvoted: string[] = []
  const chosenCounts = countsOf(chosen)
  for (const ballot of ballots) (cosine(countsOf(ballot), chosenCounts) >= agreeAt ? winners : outvoted).push(ballot.executor)
  return { chosen, winners: [...new Set(winners)].sort(), outvoted: [...new Set(outvoted)].sort() }
}

/**
 * Reputation per node from the room's votes, the same on every node: (wins + 1) / (wins +
 * 2 × losses + 1), so 1 for a node never outvoted, falling as it loses.
 */
export function reputationOf(votes: Iterable<Pick<Vote, 'winners' | 'outvoted'>>): Map<string, number> {
  const tally = new Map<string, { wins: number; losses: number }>()
  const entry = (nodeId: string) => {
    let t = tally.get(nodeId)
    if (!t) tally.set(nodeId, (t = { wins: 0, losses: 0 }))
    return t
  }
  for (const v of votes) {
    for (const nodeId of v.winners) entry(nodeId).wins++
    for (const nodeId of v.outvoted) entry(nodeId).losses++
  }
  const reputation = new Map<string, number>()
  for (const [nodeId, { wins, losses }] of tally) reputation.set(nodeId, (wins + 1) / (wins + 2 * losses + 1))
  return reputation
}

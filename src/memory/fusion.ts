// Hybrid search: the keyword ranking (search.ts) and the vector ranking (cosine over the
// stored embeddings) fused by reciprocal rank fusion. RRF needs no score calibration between
// the two: an entry scores Σ 1 / (c + rank) over the lists it is in, so one near the top of
// either list surfaces, and one near the top of both comes first.

/** RRF's damping constant: 60, as in Cormack, Clarke & Büttcher (2009), which most systems use. */
export const rrfC = 60

/** One entry of the vector ranking. */
export interface VectorHit {
  id: string
  cosine: number
}

/** Where the vector ranking comes from: the semantic index, when memory search is on. */
export interface VectorSearch {
  /** The `limit` entries nearest `query`, nearest first. */
  nearest(query: string, limit: number): Promise<VectorHit[]>
}

export interface Fused<T> {
  item: T
  score: number
  /** 1-based ranks in each list the entry is in. */
  keywordRank?: number
  vectorRank?: number
  cosine?: number
}

/**
 * Fuses a keyword ranking (best first) and a vector ranking (nearest first) over the same items;
 * vector hits whose id `itemOf` does not know are left out. Best first; ties go to the better
 * keyword rank, then the better vector rank.
 */
export function fuseRankings<T extends { id: string }>(keyword: readonly { item: T }[], vector: readonly VectorHit[], itemOf: (id: string) => T | undefined, limit: number): Fused<T>[] {
  const fused = new Map<string, Fused<T>>()
  keyword.forEach(({ item }, index) => {
    fused.set(item.id, { item, score: 1 / (rrfC + index + 1), keywordRank: index + 1 })
  })
  let vectorRank = 0
  for (const { id, cosine } of vector) {
    const item = itemOf(id)
    if (item === undefined) continue
    vectorRank++
    const known = fused.get(id)
    const share = 1 / (rrfC + vectorRank)
    if (known) Object.assign(known, { score: known.score + share, vectorRank, cosine })
    else fused.set(id, { item, score: share, vectorRank, cosine })
  }
  const rankOr = (rank: number | undefined): number => rank ?? Number.MAX_SAFE_INTEGER
  return [...fused.values()].sort((a, b) => b.score - a.score || rankOr(a.keywordRank) - rankOr(b.keywordRank) || rankOr(a.vectorRank) - rankOr(b.vectorRank)).slice(0, limit)
}

import { tokenize } from '../shared/text'

export interface Searchable {
  text: string
  tags: readonly string[]
  updatedAt: number
}

/**
 * Scores how well `item` matches `query`: every query token must appear as a prefix of a word
 * of the text or a tag; exact words and tag hits score higher. Zero means no match.
 */
export function scoreMatch(query: string, item: Searchable): number {
  const queryTokens = tokenize(query)
  if (queryTokens.length === 0) return 0
  const words = tokenize(item.text)
  const tags = item.tags.flatMap(tokenize)
  let score = 0
  for (const token of queryTokens) {
    const exact = words.filter((word) => word === token).length
    const prefix = words.filter((word) => word !== token && word.startsWith(token)).length
    const tagHit = tags.some((tag) => tag.startsWith(token)) ? 3 : 0
    const tokenScore = exact * 2 + prefix + tagHit
    if (tokenScore === 0) return 0
    score += tokenScore
  }
  return score
}

export interface Scored<T> {
  item: T
  score: number
}

/** Items matching every query token with their scores, best first, newest first among equals. */
export function searchScored<T extends Searchable>(items: readonly T[], query: string, limit = 50): Scored<T>[] {
  return items
    .map((item) => ({ item, score: scoreMatch(query, item) }))
    .filter(({ score }) => score > 0)
    .sort((a, b) => b.score - a.score || b.item.updatedAt - a.item.updatedAt)
    .slice(0, limit)
}

/** Items matching every query token, best first, newest first among equals. */
export function search<T extends Searchable>(items: readonly T[], query: string, limit = 50): T[] {
  return searchScored(items, query, limit).map(({ item }) => item)
}

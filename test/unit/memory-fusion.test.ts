import { describe, expect, it } from 'vitest'
import { fuseRankings, rrfC, type VectorHit } from '../../src/memory/fusion'
import { VectorIndex, vectorVersion } from '../../src/memory/vector-index'
import { normalize } from '../../src/inference/embedding/embedder'

const item = (id: string): { id: string } => ({ id })
const items = new Map(['a', 'b', 'c', 'd', 'e'].map((id) => [id, item(id)]))
const known = (id: string): { id: string } | undefined => items.get(id)
const keywordOf = (...ids: string[]): { item: { id: string } }[] => ids.map((id) => ({ item: item(id) }))
const vectorOf = (...ids: string[]): VectorHit[] => ids.map((id, index) => ({ id, cosine: 1 - index / 10 }))

describe('reciprocal rank fusion', () => {
  it('scores Σ 1/(c + rank) over the lists an entry is in, with its ranks and cosine', () => {
    const fused = fuseRankings(keywordOf('a', 'b'), vectorOf('b', 'c'), known, 10)
    const byId = new Map(fused.map((hit) => [hit.item.id, hit]))
    expect(byId.get('a')).toEqual({ item: item('a'), score: 1 / (rrfC + 1), keywordRank: 1 })
    expect(byId.get('b')).toEqual({ item: item('b'), score: 1 / (rrfC + 2) + 1 / (rrfC + 1), keywordRank: 2, vectorRank: 1, cosine: 1 })
    expect(byId.get('c')).toEqual({ item: item('c'), score: 1 / (rrfC + 2), vectorRank: 2, cosine: 0.9 })
    // In both lists beats first in one; first in one beats second in one.
    expect(fused.map((hit) => hit.item.id)).toEqual(['b', 'a', 'c'])
  })

  it('breaks equal scores by keyword rank, then vector rank, and keeps the limit', () => {
    // a: keyword 1; d: vector 1 → equal scores; the keyword hit comes first.
    expect(fuseRankings(keywordOf('a'), vectorOf('d'), known, 10).map((hit) => hit.item.id)).toEqual(['a', 'd'])
    expect(fuseRankings(keywordOf('a', 'b', 'c'), vectorOf('c', 'b', 'a'), known, 2)).toHaveLength(2)
  })

  it('skips vector hits of entries no longer listed, without a gap in the vector ranks', () => {
    const fused = fuseRankings([], [{ id: 'gone', cosine: 1 }, ...vectorOf('e')], known, 10)
    expect(fused).toEqual([{ item: item('e'), score: 1 / (rrfC + 1), vectorRank: 1, cosine: 1 }])
  })

  it('keyword only and vector only are each their own ranking', () => {
    expect(fuseRankings(keywordOf('c', 'a'), [], known, 10).map((hit) => hit.item.id)).toEqual(['c', 'a'])
    expect(fuseRankings([], vectorOf('d', 'b'), known, 10).map((hit) => hit.item.id)).toEqual(['d', 'b'])
  })
})

describe('vector index', () => {
  const unit = (...values: number[]): Float32Array => normalize(Float32Array.from(values))

  it('ranks by cosine, nearest first, and follows set and delete', () => {
    const index = new VectorIndex(2)
    index.set('x', { version: 'v1', vector: unit(1, 0) })
    index.set('y', { version: 'v1', vector: unit(1, 1) })
    index.set('z', { version: 'v1', vector: unit(0, 1) })
    const near = index.nearest(unit(1, 0.1), 3)
    expect(near.map((hit) => hit.id)).toEqual(['x', 'y', 'z'])
    expect(near[0]?.cosine).toBeCloseTo(1 / Math.sqrt(1.01), 6)
    index.delete('x')
    expect(index.nearest(unit(1, 0), 5).map((hit) => hit.id)).toEqual(['y', 'z'])
    expect(index.size).toBe(2)
    expect(() => index.set('w', { version: 'v1', vector: unit(1, 0, 0) })).toThrow(RangeError)
  })

  it('an entry version changes with its time and with its text', () => {
    expect(vectorVersion(1, 'a')).toBe(vectorVersion(1, 'a'))
    expect(vectorVersion(2, 'a')).not.toBe(vectorVersion(1, 'a'))
    expect(vectorVersion(1, 'b')).not.toBe(vectorVersion(1, 'a'))
  })
})

import { fnv1a } from '../shared/hash'
import type { VectorHit } from './fusion'

/** One entry's embedding and the version of the entry it was made from. */
export interface IndexedVector {
  /** `version` of the entry (vectorVersion): a changed entry has another. */
  version: string
  vector: Float32Array
}

/** What identifies the text an embedding was made from: the entry's time and a hash of its text. */
export function vectorVersion(updatedAt: number, text: string): string {
  return `${updatedAt}:${fnv1a(text).toString(36)}:${text.length}`
}

/** Dot product: the cosine of two unit vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) sum += (a[i] ?? 0) * (b[i] ?? 0)
  return sum
}

/** Unit vectors by entry id, searched by brute-force cosine (10,000 × 384 is a few ms; see the bench). */
export class VectorIndex {
  readonly #vectors = new Map<string, IndexedVector>()

  constructor(readonly dimensions: number) {}

  get size(): number {
    return this.#vectors.size
  }

  ids(): IterableIterator<string> {
    return this.#vectors.keys()
  }

  get(id: string): IndexedVector | undefined {
    return this.#vectors.get(id)
  }

  set(id: string, entry: IndexedVector): void {
    if (entry.vector.length !== this.dimensions) throw new RangeError(`a vector of ${entry.vector.length} values in an index of ${this.dimensions}`)
    this.#vectors.set(id, entry)
  }

  delete(id: string): boolean {
    return this.#vectors.delete(id)
  }

  /** The `limit` entries nearest `query` (a unit vector), nearest first, ties by id. */
  nearest(query: Float32Array, limit: number): VectorHit[] {
    const hits: VectorHit[] = []
    for (const [id, { vector }] of this.#vectors) hits.push({ id, cosine: dot(query, vector) })
    return hits.sort((a, b) => b.cosine - a.cosine || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit)
  }
}

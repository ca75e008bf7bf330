/**
 * 32-bit FNV-1a: a small deterministic hash, the same on every platform and node. `from` goes on
 * from another text's hash: fnv1a(b, fnv1a(a)) === fnv1a(a + b).
 */
export function fnv1a(text: string, from = 0x811c9dc5): number {
  let hash = from
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/** mulberry32: a tiny seeded 32-bit generator in [0, 1); the same seed gives the same values everywhere. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

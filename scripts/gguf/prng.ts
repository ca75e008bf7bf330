// mulberry32: a tiny 32-bit generator, good enough for test weights and the same on every platform.
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

/** FNV-1a of a string, to derive one seed per tensor name so tensors do not depend on their order. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/** Uniform values in [-a, a] with a chosen so their standard deviation is `std`. */
export function fillUniform(out: Float32Array, seed: number, std: number): Float32Array {
  const random = mulberry32(seed)
  const halfWidth = std * Math.sqrt(3)
  for (let i = 0; i < out.length; i++) out[i] = (random() * 2 - 1) * halfWidth
  return out
}

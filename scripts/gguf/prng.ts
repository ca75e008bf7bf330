import { mulberry32 } from '../../src/shared/hash'

export { fnv1a, mulberry32 } from '../../src/shared/hash'

/** Uniform values in [-a, a] with a chosen so their standard deviation is `std`. */
export function fillUniform(out: Float32Array, seed: number, std: number): Float32Array {
  const random = mulberry32(seed)
  const halfWidth = std * Math.sqrt(3)
  for (let i = 0; i < out.length; i++) out[i] = (random() * 2 - 1) * halfWidth
  return out
}

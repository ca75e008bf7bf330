import { fnv1a, mulberry32 } from '../../src/shared/hash'
import type { GgufTensor } from './format'

export { fnv1a, mulberry32 } from '../../src/shared/hash'

/** Uniform values in [-a, a] with a chosen so their standard deviation is `std`. */
export function fillUniform(out: Float32Array, seed: number, std: number): Float32Array {
  const random = mulberry32(seed)
  const halfWidth = std * Math.sqrt(3)
  for (let i = 0; i < out.length; i++) out[i] = (random() * 2 - 1) * halfWidth
  return out
}

/** A model's tensors as they are made: `random` weights seeded by their name, `filled` constant vectors. */
export function tensorSet(seed: number, weightStd: number) {
  const tensors: GgufTensor[] = []
  return {
    tensors,
    random: (name: string, shape: [number, number]): void => {
      tensors.push({ name, shape, data: fillUniform(new Float32Array(shape[0] * shape[1]), (seed ^ fnv1a(name)) >>> 0, weightStd) })
    },
    filled: (name: string, size: number, value: number): void => {
      tensors.push({ name, shape: [size], data: new Float32Array(size).fill(value) })
    },
  }
}

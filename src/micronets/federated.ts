import { shapeOf, type DenseLayer, type Mlp } from './mlp'

/** One node's published net and how many samples taught it. */
export interface Contribution {
  readonly author: string
  readonly samples: number
  readonly net: Mlp
}

/** A contribution counts for at most this many times the (lower) median sample count… */
export const clipFactor = 2
/** …and never for more than this many samples, whatever it claims. */
export const maxCountedSamples = 10_000

/**
 * The weight each sample count gets in the average: the claim, clipped to `clipFactor` × the
 * lower median of all claims and to `maxCountedSamples`. A member that claims 1e9 samples counts
 * as a few honest ones, not as the whole room.
 */
export function clippedWeights(samples: readonly number[]): number[] {
  const sorted = [...samples].sort((a, b) => a - b)
  const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0
  const cap = Math.min(maxCountedSamples, clipFactor * median)
  return samples.map((count) => Math.min(count, cap))
}

/** How many values are trimmed from each end of every coordinate: the most hostile members f < n/3 allows. */
export function trimmedPerSide(count: number): number {
  return Math.max(0, Math.ceil(count / 3) - 1)
}

/**
 * Robust federated averaging. Each contribution's weight is its sample count, clipped
 * (clippedWeights); each coordinate is a trimmed mean: the `trimmedPerSide(n)` lowest and
 * highest values are dropped, the rest averaged by weight. With f < n/3 hostile contributions
 * every coordinate stays within the range of the honest ones'. With three contributions or
 * fewer nothing is trimmed: the plain weighted mean. Contributions are ordered by author (ties
 * of a coordinate's sort broken the same way) and summed in doubles, so every node that sees
 * the same set computes the same weights, bit for bit. Contributions of another shape than the
 * first, or with no samples, are left out; null when none is left.
 */
export function federatedAverage(contributions: readonly Contribution[]): Mlp | null {
  const usable = [...contributions].filter((entry) => entry.samples > 0 && Number.isFinite(entry.samples)).sort((a, b) => (a.author < b.author ? -1 : a.author > b.author ? 1 : 0))
  const first = usable[0]
  if (!first) return null
  const shape = shapeOf(first.net)
  const same = usable.filter((entry) => shapeOf(entry.net) === shape)
  const weights = clippedWeights(same.map((entry) => entry.samples))
  const trim = trimmedPerSide(same.length)
  const order = same.map((_, index) => index)
  const average = (pick: (layer: DenseLayer) => Float32Array, layerIndex: number): Float32Array => {
    const columns = same.map((entry) => pick(entry.net.layers[layerIndex] as DenseLayer))
    const length = columns[0]?.length ?? 0
    const out = new Float32Array(length)
    for (let i = 0; i < length; i++) {
      const kept = trim === 0 ? order : [...order].sort((a, b) => (columns[a]?.[i] ?? 0) - (columns[b]?.[i] ?? 0) || a - b).slice(trim, same.length - trim)
      let total = 0
      for (const index of kept) total += weights[index] ?? 0
      let sum = 0
      for (const index of kept) sum += ((weights[index] ?? 0) / total) * (columns[index]?.[i] ?? 0)
      out[i] = sum
    }
    return out
  }
  return {
    inputs: first.net.inputs,
    layers: first.net.layers.map((layer, index) => ({
      inputs: layer.inputs,
      outputs: layer.outputs,
      activation: layer.activation,
      weights: average((l) => l.weights, index),
      bias: average((l) => l.bias, index),
    })),
  }
}

/** A short, stable digest of a net's weights (FNV-1a over the float32 bits), to compare nets across nodes. */
export function fingerprintOf(net: Mlp): string {
  let hash = 0x811c9dc5
  for (const layer of net.layers) {
    for (const values of [layer.weights, layer.bias]) {
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
      for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
    }
  }
  return `${shapeOf(net)}#${hash.toString(16).padStart(8, '0')}`
}

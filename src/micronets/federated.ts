import { shapeOf, type DenseLayer, type Mlp } from './mlp'

/** One node's published net and how many samples taught it. */
export interface Contribution {
  readonly author: string
  readonly samples: number
  readonly net: Mlp
}

/**
 * Federated averaging: every weight is the sample-weighted mean of the contributions'. The
 * contributions are taken in author order and summed in doubles, so every node that sees the
 * same set computes the same weights, bit for bit. Contributions of another shape than the
 * first, or with no samples, are left out; null when none is left.
 */
export function federatedAverage(contributions: readonly Contribution[]): Mlp | null {
  const usable = [...contributions].filter((entry) => entry.samples > 0 && Number.isFinite(entry.samples)).sort((a, b) => (a.author < b.author ? -1 : a.author > b.author ? 1 : 0))
  const first = usable[0]
  if (!first) return null
  const shape = shapeOf(first.net)
  const same = usable.filter((entry) => shapeOf(entry.net) === shape)
  const total = same.reduce((sum, entry) => sum + entry.samples, 0)
  const average = (pick: (layer: DenseLayer) => Float32Array, layerIndex: number): Float32Array => {
    const length = pick(first.net.layers[layerIndex] as DenseLayer).length
    const sums = new Float64Array(length)
    for (const entry of same) {
      const values = pick(entry.net.layers[layerIndex] as DenseLayer)
      for (let i = 0; i < length; i++) sums[i] = (sums[i] ?? 0) + (entry.samples / total) * (values[i] ?? 0)
    }
    return Float32Array.from(sums)
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

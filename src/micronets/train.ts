import { mulberry32 } from '../shared/hash'
import { activationSlope, forward, forwardTrace, type Mlp } from './mlp'

export interface Sample {
  readonly input: ArrayLike<number>
  readonly target: ArrayLike<number>
  /** How much this sample counts; 1 unless told. */
  readonly weight?: number
}

/** `bce`: binary cross-entropy on a sigmoid output (the router); `mse`: squared error (regression). */
export type LossKind = 'bce' | 'mse'

export interface AdamOptions {
  learningRate?: number
  beta1?: number
  beta2?: number
  epsilon?: number
  /** L2 penalty on weights (not biases). */
  weightDecay?: number
  loss?: LossKind
}

const probabilityFloor = 1e-7

function sampleLoss(kind: LossKind, output: ArrayLike<number>, target: ArrayLike<number>): number {
  let loss = 0
  for (let k = 0; k < target.length; k++) {
    const y = output[k] ?? 0
    const t = target[k] ?? 0
    if (kind === 'bce') {
      const p = Math.min(1 - probabilityFloor, Math.max(probabilityFloor, y))
      loss -= t * Math.log(p) + (1 - t) * Math.log(1 - p)
    } else loss += 0.5 * (y - t) ** 2
  }
  return loss
}

/** The mean loss of `net` over `samples`, weighted. */
export function lossOf(net: Mlp, samples: readonly Sample[], kind: LossKind = 'bce'): number {
  let total = 0
  let weights = 0
  for (const sample of samples) {
    const weight = sample.weight ?? 1
    total += weight * sampleLoss(kind, forward(net, sample.input), sample.target)
    weights += weight
  }
  return weights > 0 ? total / weights : 0
}

/**
 * Adam on a net's own arrays: `step(batch)` backpropagates the batch's mean loss and updates
 * the weights in place. Plain loops over Float32Arrays: at these sizes (a few thousand weights)
 * a step takes microseconds, and the browser needs no library to learn online.
 */
export class AdamTrainer {
  readonly #moments: { mw: Float64Array; vw: Float64Array; mb: Float64Array; vb: Float64Array }[]
  readonly #options: Required<AdamOptions>
  #steps = 0

  constructor(
    readonly net: Mlp,
    options: AdamOptions = {},
  ) {
    this.#options = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, loss: 'bce', ...options }
    if (this.#options.loss === 'bce' && net.layers.at(-1)?.activation !== 'sigmoid') throw new RangeError('bce loss needs a sigmoid output layer')
    this.#moments = net.layers.map((layer) => ({
      mw: new Float64Array(layer.weights.length),
      vw: new Float64Array(layer.weights.length),
      mb: new Float64Array(layer.bias.length),
      vb: new Float64Array(layer.bias.length),
    }))
  }

  get steps(): number {
    return this.#steps
  }

  /** One update from `batch`; returns the batch's mean loss before the update. */
  step(batch: readonly Sample[]): number {
    const { layers } = this.net
    const gradW = layers.map((layer) => new Float64Array(layer.weights.length))
    const gradB = layers.map((layer) => new Float64Array(layer.bias.length))
    let loss = 0
    let totalWeight = 0
    for (const sample of batch) {
      const weight = sample.weight ?? 1
      const trace = forwardTrace(this.net, sample.input)
      const output = trace[trace.length - 1] ?? new Float32Array()
      loss += weight * sampleLoss(this.#options.loss, output, sample.target)
      totalWeight += weight
      // Sigmoid with cross-entropy: dL/dz = y - t. Otherwise dL/dz = (y - t) · f'(z).
      const last = layers[layers.length - 1]
      let delta = Float64Array.from(output, (y, k) => {
        const error = y - (sample.target[k] ?? 0)
        return weight * (this.#options.loss === 'bce' || !last ? error : error * activationSlope(last.activation, y))
      })
      for (let l = layers.length - 1; l >= 0; l--) {
        const layer = layers[l]
        const input = trace[l]
        const gw = gradW[l]
        const gb = gradB[l]
        if (!layer || !input || !gw || !gb) continue
        const below = l > 0 ? layers[l - 1] : undefined
        const previous = new Float64Array(layer.inputs)
        for (let o = 0; o < layer.outputs; o++) {
          const d = delta[o] ?? 0
          if (d === 0) continue
          gb[o] = (gb[o] ?? 0) + d
          const row = o * layer.inputs
          for (let i = 0; i < layer.inputs; i++) {
            gw[row + i] = (gw[row + i] ?? 0) + d * (input[i] ?? 0)
            previous[i] = (previous[i] ?? 0) + d * (layer.weights[row + i] ?? 0)
          }
        }
        if (below) for (let i = 0; i < layer.inputs; i++) previous[i] = (previous[i] ?? 0) * activationSlope(below.activation, input[i] ?? 0)
        delta = previous
      }
    }
    if (totalWeight <= 0) return 0
    this.#steps++
    const { learningRate, beta1, beta2, epsilon, weightDecay } = this.#options
    const correction1 = 1 - beta1 ** this.#steps
    const correction2 = 1 - beta2 ** this.#steps
    const update = (values: Float32Array, grads: Float64Array, m: Float64Array, v: Float64Array, decay: number): void => {
      for (let i = 0; i < values.length; i++) {
        const value = values[i] ?? 0
        const g = (grads[i] ?? 0) / totalWeight + decay * value
        const mi = beta1 * (m[i] ?? 0) + (1 - beta1) * g
        const vi = beta2 * (v[i] ?? 0) + (1 - beta2) * g * g
        m[i] = mi
        v[i] = vi
        values[i] = value - (learningRate * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon)
      }
    }
    layers.forEach((layer, l) => {
      const moments = this.#moments[l]
      const gw = gradW[l]
      const gb = gradB[l]
      if (!moments || !gw || !gb) return
      update(layer.weights, gw, moments.mw, moments.vw, weightDecay)
      update(layer.bias, gb, moments.mb, moments.vb, 0)
    })
    return loss / totalWeight
  }
}

export interface TrainOptions extends AdamOptions {
  epochs: number
  batchSize?: number
  /** Seeds the shuffle of each epoch: the same seed, data and net give the same weights. */
  seed?: number
}

/** Trains in place for `epochs` shuffled passes; returns each epoch's mean loss (before its updates). */
export function train(net: Mlp, samples: readonly Sample[], options: TrainOptions): number[] {
  const { epochs, batchSize = 32, seed = 1, ...adam } = options
  const trainer = new AdamTrainer(net, adam)
  const random = mulberry32(seed)
  const order = samples.map((_, index) => index)
  const losses: number[] = []
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const swap = order[i] ?? 0
      order[i] = order[j] ?? 0
      order[j] = swap
    }
    let sum = 0
    let batches = 0
    for (let start = 0; start < order.length; start += batchSize) {
      const batch = order.slice(start, start + batchSize).flatMap((index) => samples[index] ?? [])
      sum += trainer.step(batch) * batch.length
      batches += batch.length
    }
    losses.push(batches > 0 ? sum / batches : 0)
  }
  return losses
}

import { mulberry32 } from '../shared/hash'
import { cloneMlp, shapeOf, type Mlp } from './mlp'
import { AdamTrainer, lossOf, type LossKind, type Sample } from './train'

/** One point of a net's learning curve: the loss over its recent samples, after `samples` of them. */
export interface LearningPoint {
  at: number
  loss: number
  samples: number
}

export interface OnlineNetOptions {
  loss: LossKind
  learningRate?: number
  /** Recent samples kept and replayed with each new one. */
  replay?: number
  batchSize?: number
  /** Adam steps per new sample. */
  stepsPerSample?: number
  /** Points kept for the learning plot; older ones are thinned. */
  historyLength?: number
  weightDecay?: number
  seed?: number
}

/** What is kept of an online net across reloads. */
export interface OnlineNetSnapshot {
  net: Mlp
  samples: number
  replay: Sample[]
  history: LearningPoint[]
}

const defaults = { learningRate: 0.003, replay: 256, batchSize: 16, stepsPerSample: 2, historyLength: 240, weightDecay: 1e-4, seed: 1 }

/**
 * A net that learns one sample at a time, in the browser: each new sample joins a replay
 * buffer of recent ones and a few Adam steps run on minibatches holding it and replayed
 * samples, so one odd signal nudges the net rather than drags it. `adopt` takes in weights
 * from elsewhere (the room's federated average) and learning goes on from them.
 */
export class OnlineNet {
  readonly #net: Mlp
  readonly #trainer: AdamTrainer
  readonly #options: Required<OnlineNetOptions>
  readonly #random: () => number
  #replay: Sample[]
  #history: LearningPoint[]
  #samples: number

  constructor(
    readonly name: string,
    initial: Mlp,
    options: OnlineNetOptions,
    restored?: OnlineNetSnapshot,
  ) {
    this.#options = { ...defaults, ...options }
    const start = restored && shapeOf(restored.net) === shapeOf(initial) ? restored : undefined
    this.#net = cloneMlp(start?.net ?? initial)
    this.#samples = start?.samples ?? 0
    this.#replay = (start?.replay ?? []).slice(-this.#options.replay)
    this.#history = (start?.history ?? []).slice(-this.#options.historyLength)
    this.#random = mulberry32(this.#options.seed + this.#samples)
    this.#trainer = new AdamTrainer(this.#net, { loss: this.#options.loss, learningRate: this.#options.learningRate, weightDecay: this.#options.weightDecay })
  }

  /** The weights in use now. Changed in place by `learn` and `adopt`: clone to keep a copy. */
  get net(): Mlp {
    return this.#net
  }

  /** Samples this node has learned from (what its contribution to the room weighs). */
  get samples(): number {
    return this.#samples
  }

  get history(): readonly LearningPoint[] {
    return this.#history
  }

  /** Learns from one sample; returns the loss over the recent samples after the update. */
  learn(sample: Sample, at: number = Date.now()): number {
    this.#replay.push(sample)
    if (this.#replay.length > this.#options.replay) this.#replay.shift()
    this.#samples++
    for (let step = 0; step < this.#options.stepsPerSample; step++) this.#trainer.step(this.#batch(sample))
    const loss = lossOf(this.#net, this.#replay, this.#options.loss)
    this.#record({ at, loss, samples: this.#samples })
    return loss
  }

  /** The loss over the recent samples now (0 with none). */
  recentLoss(): number {
    return lossOf(this.#net, this.#replay, this.#options.loss)
  }

  /** Takes `net`'s weights (same shape, or it throws) in place; learning goes on from them. */
  adopt(net: Mlp, at: number = Date.now()): void {
    if (shapeOf(net) !== shapeOf(this.#net)) throw new RangeError(`cannot adopt a ${shapeOf(net)} net into ${this.name} (${shapeOf(this.#net)})`)
    this.#net.layers.forEach((layer, index) => {
      const from = net.layers[index]
      if (!from) return
      layer.weights.set(from.weights)
      layer.bias.set(from.bias)
    })
    if (this.#replay.length > 0) this.#record({ at, loss: this.recentLoss(), samples: this.#samples })
  }

  snapshot(): OnlineNetSnapshot {
    return { net: cloneMlp(this.#net), samples: this.#samples, replay: [...this.#replay], history: [...this.#history] }
  }

  /** The new sample and up to batchSize − 1 others drawn from the replay buffer. */
  #batch(sample: Sample): Sample[] {
    const batch = [sample]
    const others = this.#replay.length - 1
    for (let i = 0; i < Math.min(others, this.#options.batchSize - 1); i++) batch.push(this.#replay[Math.floor(this.#random() * others)] ?? sample)
    return batch
  }

  #record(point: LearningPoint): void {
    this.#history.push(point)
    // Past the cap, drop every other point of the older half: the plot keeps its whole span.
    if (this.#history.length > this.#options.historyLength) {
      const half = Math.floor(this.#history.length / 2)
      this.#history = [...this.#history.slice(0, half).filter((_, index) => index % 2 === 0), ...this.#history.slice(half)]
    }
  }
}

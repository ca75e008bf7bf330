import { OnlineNet, type OnlineNetOptions, type OnlineNetSnapshot } from './learner'
import { createMlp, forward, type Mlp, type MlpSpec } from './mlp'

/**
 * What the speed predictor reads of one task on one peer: the request's size and the peer's
 * advertised speed and state. The market declares the same shape for itself (it does not
 * import micro-nets), so a SpeedPredictor is its speed model as it stands.
 */
export interface SpeedQuery {
  promptTokens: number
  maxTokens: number
  prefillTokensPerS: number
  decodeTokensPerS: number
  queueLength: number
  visible: boolean
  /** 'webgpu', 'wasm', or anything else (no engine, an unknown one). */
  engineKind: string
}

/** How a peer's tasks went so far: the running mean of log(actual / estimated), and how many. */
export interface PeerHistory {
  meanLogRatio: number
  count: number
}

export interface SpeedInput extends SpeedQuery {
  history: PeerHistory
}

/** One row of the per-peer table, as kept across reloads. */
export interface PeerHistoryEntry extends PeerHistory {
  peerId: string
}
export type PeerHistorySnapshot = readonly PeerHistoryEntry[]

/** The net's inputs, each scaled to [-1, 1]; the order is the net's input order. */
export const speedFeatureNames = [
  'promptTokens',
  'maxTokens',
  'prefillTokensPerS',
  'decodeTokensPerS',
  'queueLength',
  'visible',
  'engineWebgpu',
  'engineWasm',
  'historyLogRatio',
  'historyCount',
] as const
export type SpeedFeatureName = (typeof speedFeatureNames)[number]
export const speedFeatureCount = speedFeatureNames.length

/** Predictions and targets stay within 20× either way of the estimate they correct. */
export const maxLogRatio = Math.log(20)

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value))
}

/** -1 at 0 (or junk), +1 at `scale` and past it, logarithmic between: sizes and speeds span decades. */
function logUnit(value: number, scale: number): number {
  const safe = Number.isFinite(value) && value > 0 ? value : 0
  return clamp((2 * Math.log1p(safe)) / Math.log1p(scale) - 1, -1, 1)
}

function plusMinus(flag: boolean): number {
  return flag ? 1 : -1
}

export function speedFeatures(input: SpeedInput): Float32Array {
  const mean = Number.isFinite(input.history.meanLogRatio) ? input.history.meanLogRatio : 0
  const values: Record<SpeedFeatureName, number> = {
    promptTokens: logUnit(input.promptTokens, 32_768),
    maxTokens: logUnit(input.maxTokens, 8_192),
    prefillTokensPerS: logUnit(input.prefillTokensPerS, 100_000),
    decodeTokensPerS: logUnit(input.decodeTokensPerS, 1_000),
    queueLength: logUnit(input.queueLength, 16),
    visible: plusMinus(input.visible),
    engineWebgpu: plusMinus(input.engineKind === 'webgpu'),
    engineWasm: plusMinus(input.engineKind === 'wasm'),
    historyLogRatio: clamp(mean / maxLogRatio, -1, 1),
    historyCount: logUnit(input.history.count, 256),
  }
  return Float32Array.from(speedFeatureNames, (name) => values[name])
}

/** Features → 8 tanh → 1 linear: r = log(actual / estimated), a correction to the market's own estimate. */
export const speedSpec: MlpSpec = {
  inputs: speedFeatureCount,
  layers: [
    { units: 8, activation: 'tanh' },
    { units: 1, activation: 'linear' },
  ],
}

/**
 * A fresh speed net. Its output layer is zero, so it predicts r = 0 for every input: a new node
 * trusts the market's estimate exactly until it has seen tasks finish. The hidden layer keeps
 * its seeded random weights, or no gradient would ever reach it.
 */
export function initialSpeedNet(seed = 7): Mlp {
  const net = createMlp(speedSpec, seed)
  const last = net.layers.at(-1)
  last?.weights.fill(0)
  last?.bias.fill(0)
  return net
}

/**
 * Online learning settings: a faster rate and more steps per sample than the defaults, since
 * a node sees tens of finished tasks an hour, not thousands; the replay buffer keeps one slow
 * task from dragging the net.
 */
export const speedNetOptions: OnlineNetOptions = { loss: 'mse', learningRate: 0.01, stepsPerSample: 4, replay: 256, batchSize: 16, weightDecay: 1e-4, seed: 7 }

/** The node's speed net, from its snapshot when there is one (of the same shape). */
export function createSpeedNet(restored?: OnlineNetSnapshot): OnlineNet {
  return new OnlineNet('speed', initialSpeedNet(), speedNetOptions, restored)
}

/** The net's r for `input`, clamped to ±log 20 (0 for a net that outputs junk). */
export function predictLogRatio(net: Mlp, input: SpeedInput): number {
  const r = forward(net, speedFeatures(input))[0] ?? 0
  return Number.isFinite(r) ? clamp(r, -maxLogRatio, maxLogRatio) : 0
}

export interface SpeedPredictorOptions {
  net: OnlineNet
  /** The per-peer table from `peersSnapshot()`, after a reload. */
  peers?: PeerHistorySnapshot
  /** After each observation learned: a place to persist or publish the net. */
  onObserve?: () => void
}

/** Peers remembered; the least recently observed is forgotten first. */
export const maxSpeedPeers = 256
/** The history is a plain mean over a peer's first tasks, then an average that favours the last ones. */
const historyWindow = 8

/**
 * Predicts how long a peer takes for a task as a correction to an estimate, and learns from
 * measured completion times. The net is shared by all peers (and can be averaged across the
 * room); what makes it per peer is the table of each peer's past log ratios, one of its inputs.
 */
export class SpeedPredictor {
  readonly net: OnlineNet
  readonly #peers = new Map<string, PeerHistory>()
  readonly #onObserve: () => void

  constructor(options: SpeedPredictorOptions) {
    this.net = options.net
    this.#onObserve = options.onObserve ?? (() => undefined)
    for (const entry of (options.peers ?? []).slice(-maxSpeedPeers)) {
      if (typeof entry.peerId !== 'string' || !Number.isFinite(entry.meanLogRatio) || !Number.isFinite(entry.count) || entry.count < 0) continue
      this.#peers.set(entry.peerId, { meanLogRatio: clamp(entry.meanLogRatio, -maxLogRatio, maxLogRatio), count: Math.floor(entry.count) })
    }
  }

  historyOf(peerId: string): PeerHistory {
    const known = this.#peers.get(peerId)
    return known ? { ...known } : { meanLogRatio: 0, count: 0 }
  }

  /** `baseMs` corrected by what this peer and peers like it took before. */
  predictMs(peerId: string, query: SpeedQuery, baseMs: number): number {
    if (!Number.isFinite(baseMs) || baseMs <= 0) return baseMs
    return baseMs * Math.exp(predictLogRatio(this.net.net, { ...query, history: this.historyOf(peerId) }))
  }

  /** Learns from one finished task: `actualMs` where `baseMs` was estimated. Junk times are ignored. */
  observe(peerId: string, query: SpeedQuery, baseMs: number, actualMs: number): void {
    if (!Number.isFinite(baseMs) || !Number.isFinite(actualMs) || baseMs <= 0 || actualMs <= 0) return
    const r = clamp(Math.log(actualMs / baseMs), -maxLogRatio, maxLogRatio)
    // Learn with the history as it was when the prediction was made: the target must not leak into its input.
    this.net.learn({ input: speedFeatures({ ...query, history: this.historyOf(peerId) }), target: [r] })
    this.#remember(peerId, r)
    this.#onObserve()
  }

  peersSnapshot(): PeerHistoryEntry[] {
    return [...this.#peers].map(([peerId, history]) => ({ peerId, ...history }))
  }

  #remember(peerId: string, r: number): void {
    const history = this.historyOf(peerId)
    const count = history.count + 1
    const meanLogRatio = history.meanLogRatio + (r - history.meanLogRatio) / Math.min(count, historyWindow)
    this.#peers.delete(peerId)
    this.#peers.set(peerId, { meanLogRatio, count })
    const oldest = this.#peers.keys().next()
    if (this.#peers.size > maxSpeedPeers && !oldest.done) this.#peers.delete(oldest.value)
  }
}

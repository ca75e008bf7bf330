import { EngineUnavailableError } from '../../shared/errors'
import type { RuntimeSettings, WorkerStats } from './protocol'
import { MicronetWorkerClient, type WorkerLike } from './worker-client'

export interface MicronetPoolOptions {
  /** Workers in the pool; 1 unless told (the nets are tiny: one worker keeps up with many). */
  workers?: number
  /** Warm sessions kept across the pool; past it the least recently used one is disposed. */
  maxSessions?: number
  settings?: Partial<RuntimeSettings>
  createWorker: () => WorkerLike
}

interface LiveNet {
  worker: MicronetWorkerClient
  ready: Promise<unknown>
}

/**
 * A pool of micro-net workers. Nets are registered as ONNX bytes and created on demand on the
 * least loaded worker when first run; warm sessions are reused; past `maxSessions` the least
 * recently used one is disposed (create → run → dissolve). Runs of one net go to one worker,
 * whose queue keeps them in order.
 */
export class MicronetPool {
  readonly #workers: MicronetWorkerClient[]
  readonly #models = new Map<string, Uint8Array>()
  /** Live sessions in least-recently-used order: the first is the next to go. */
  readonly #live = new Map<string, LiveNet>()
  readonly #maxSessions: number

  constructor(options: MicronetPoolOptions) {
    const settings: RuntimeSettings = { threads: 1, simd: true, ...options.settings }
    this.#maxSessions = Math.max(1, options.maxSessions ?? 8)
    this.#workers = Array.from({ length: Math.max(1, options.workers ?? 1) }, () => {
      const client = new MicronetWorkerClient(options.createWorker())
      // Queued first in the worker, so every later request runs configured; a failure surfaces on them.
      client.init(settings).catch(() => undefined)
      return client
    })
  }

  /** Registers (or replaces) a net's ONNX model; a warm session of older bytes is disposed. */
  register(netId: string, model: Uint8Array): void {
    if (this.#models.get(netId) === model) return
    this.#models.set(netId, model)
    if (this.#live.has(netId)) this.#evict(netId)
  }

  has(netId: string): boolean {
    return this.#models.has(netId)
  }

  /** Runs `rows` inputs (laid end to end) through the net; creates its session when cold. */
  async run(netId: string, input: Float32Array, rows = 1): Promise<Float32Array> {
    const live = this.#warm(netId)
    await live.ready
    return live.worker.run(netId, input, rows)
  }

  /** Disposes the net's session now (it is created again on its next run) and forgets its model. */
  async dispose(netId: string, forget = true): Promise<void> {
    if (forget) this.#models.delete(netId)
    const live = this.#live.get(netId)
    if (!live) return
    this.#live.delete(netId)
    await live.worker.dispose(netId)
  }

  /** Each worker's own account of its sessions, counters and heap. */
  stats(): Promise<WorkerStats[]> {
    return Promise.all(this.#workers.map((worker) => worker.stats()))
  }

  /** The nets with a warm session, least recently used first. */
  liveNets(): string[] {
    return [...this.#live.keys()]
  }

  close(): void {
    for (const worker of this.#workers) worker.close()
    this.#live.clear()
  }

  #warm(netId: string): LiveNet {
    const existing = this.#live.get(netId)
    if (existing) {
      this.#live.delete(netId)
      this.#live.set(netId, existing)
      return existing
    }
    const model = this.#models.get(netId)
    if (!model) throw new EngineUnavailableError(`micro-net ${netId} is not registered`)
    const worker = this.#leastLoaded()
    const live: LiveNet = { worker, ready: worker.create(netId, model) }
    // A failed create is forgotten so that the next run tries again.
    live.ready.catch(() => {
      if (this.#live.get(netId) === live) this.#live.delete(netId)
    })
    this.#live.set(netId, live)
    while (this.#live.size > this.#maxSessions) {
      const oldest = this.#live.keys().next().value
      if (oldest === undefined || oldest === netId) break
      this.#evict(oldest)
    }
    return live
  }

  #evict(netId: string): void {
    const live = this.#live.get(netId)
    if (!live) return
    this.#live.delete(netId)
    // Queued behind the net's pending runs in its worker; a failure leaves nothing to clean here.
    live.worker.dispose(netId).catch(() => undefined)
  }

  #leastLoaded(): MicronetWorkerClient {
    const load = new Map(this.#workers.map((worker) => [worker, 0]))
    for (const live of this.#live.values()) load.set(live.worker, (load.get(live.worker) ?? 0) + 1)
    return this.#workers.reduce((best, worker) => ((load.get(worker) ?? 0) < (load.get(best) ?? 0) ? worker : best))
  }
}

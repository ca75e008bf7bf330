import { AbortError } from '../../shared/errors'
import { workerClient, type RpcClient, type WorkerLike } from '../../shared/rpc'
import type { MicronetMethods, RuntimeSettings, WorkerStats } from './protocol'

export type { WorkerLike }

/** One micro-net worker seen from the page: typed calls that settle with its reply. */
export class MicronetWorkerClient {
  readonly #rpc: RpcClient<MicronetMethods>

  constructor(private readonly worker: WorkerLike) {
    // A worker that fails to start (a missing file, a syntax error) fails every call, not a hang.
    this.#rpc = workerClient<MicronetMethods>(worker, 'micro-net')
  }

  init(settings: RuntimeSettings): Promise<WorkerStats> {
    return this.#rpc.call('init', settings)
  }

  create(netId: string, model: Uint8Array): Promise<WorkerStats> {
    return this.#rpc.call('create', { netId, model })
  }

  dispose(netId: string): Promise<WorkerStats> {
    return this.#rpc.call('dispose', { netId })
  }

  stats(): Promise<WorkerStats> {
    return this.#rpc.call('stats', null)
  }

  run(netId: string, input: Float32Array, rows: number): Promise<Float32Array> {
    return this.#rpc.call('run', { netId, input, rows })
  }

  /** Terminates the worker; calls still pending fail with `reason`. */
  close(reason: Error = new AbortError('the micro-net pool is closed')): void {
    if (this.#rpc.closed) return
    this.#rpc.close(reason)
    this.worker.terminate()
  }
}

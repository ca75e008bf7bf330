import { AbortError, InferenceError, rebuildError } from '../../shared/errors'
import { isMicronetReply, type MicronetReply, type MicronetRequest, type WorkerStats } from './protocol'

/** The part of a Worker the client uses; a MessagePort-like fake serves in tests. */
export interface WorkerLike {
  postMessage(message: unknown): void
  addEventListener(type: 'message' | 'error', listener: (event: Event) => void): void
  terminate(): void
}

type RequestOf<K extends MicronetRequest['kind']> = Omit<Extract<MicronetRequest, { kind: K }>, 'id'>

interface Pending {
  resolve: (reply: MicronetReply) => void
  reject: (error: Error) => void
}

/** One micro-net worker seen from the page: typed calls that settle with its reply. */
export class MicronetWorkerClient {
  #nextId = 1
  readonly #pending = new Map<number, Pending>()
  #closed: Error | null = null

  constructor(private readonly worker: WorkerLike) {
    worker.addEventListener('message', (event) => {
      const data: unknown = (event as MessageEvent).data
      if (!isMicronetReply(data)) return
      const pending = this.#pending.get(data.id)
      if (!pending) return
      this.#pending.delete(data.id)
      if (data.kind === 'error') pending.reject(rebuildError(data.payload))
      else pending.resolve(data)
    })
    // A worker that fails to start (a missing file, a syntax error) fails every call, not a hang.
    worker.addEventListener('error', (event) => this.close(new InferenceError(`micro-net worker failed: ${(event as ErrorEvent).message || 'could not start'}`)))
  }

  #call(request: RequestOf<MicronetRequest['kind']>): Promise<MicronetReply> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(this.#closed)
        return
      }
      const id = this.#nextId++
      this.#pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...request, id })
    })
  }

  async #stats(request: RequestOf<'init' | 'create' | 'dispose' | 'stats'>): Promise<WorkerStats> {
    const reply = await this.#call(request)
    if (reply.kind !== 'done') throw new InferenceError(`micro-net worker answered ${reply.kind} to ${request.kind}`)
    return reply.payload
  }

  init(payload: RequestOf<'init'>['payload']): Promise<WorkerStats> {
    return this.#stats({ kind: 'init', payload })
  }

  create(netId: string, model: Uint8Array): Promise<WorkerStats> {
    return this.#stats({ kind: 'create', payload: { netId, model } })
  }

  dispose(netId: string): Promise<WorkerStats> {
    return this.#stats({ kind: 'dispose', payload: { netId } })
  }

  stats(): Promise<WorkerStats> {
    return this.#stats({ kind: 'stats', payload: null })
  }

  async run(netId: string, input: Float32Array, rows: number): Promise<Float32Array> {
    const reply = await this.#call({ kind: 'run', payload: { netId, input, rows } })
    if (reply.kind !== 'output') throw new InferenceError(`micro-net worker answered ${reply.kind} to run`)
    return reply.payload.output
  }

  /** Terminates the worker; calls still pending fail with `reason`. */
  close(reason: Error = new AbortError('the micro-net pool is closed')): void {
    if (this.#closed) return
    this.#closed = reason
    this.worker.terminate()
    for (const pending of this.#pending.values()) pending.reject(reason)
    this.#pending.clear()
  }
}

import type { Engine } from './engine'
import { RemoteEngine } from './rpc'
import type { ChatChunk, ChatRequest, EngineInfo, EngineKind, LoadProgress } from './types'

/**
 * An engine in a dedicated worker: the RemoteEngine protocol, plus the worker's life. A worker
 * that dies fails whatever was pending with its error; unload ends the worker.
 */
export class WorkerEngine implements Engine {
  readonly #remote: RemoteEngine

  constructor(
    readonly kind: EngineKind,
    private readonly worker: Worker,
    modelId: string,
  ) {
    this.#remote = new RemoteEngine(kind, worker, modelId)
    worker.addEventListener('error', (event) => {
      event.preventDefault()
      this.#remote.dispose(`the ${kind} engine's worker failed: ${event.message || 'unknown error'}`)
    })
  }

  load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    return this.#remote.load(onProgress, signal)
  }

  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    return this.#remote.chat(request, signal)
  }

  info(): EngineInfo {
    return this.#remote.info()
  }

  async unload(): Promise<void> {
    try {
      await this.#remote.unload()
    } finally {
      this.#remote.dispose()
      this.worker.terminate()
    }
  }
}

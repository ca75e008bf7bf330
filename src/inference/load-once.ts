import type { Engine } from './engine'
import type { ChatChunk, ChatRequest, EngineInfo, LoadProgress } from './types'

/**
 * Wraps an engine so that many callers (this tab and the tabs it serves) share one load: the
 * first `load` starts it, later ones join it and get its progress; a failed load can be retried.
 */
export class LoadOnce implements Engine {
  #loading: Promise<void> | null = null
  readonly #listeners = new Set<(progress: LoadProgress) => void>()
  #last: LoadProgress | null = null

  constructor(private readonly engine: Engine) {}

  get kind(): Engine['kind'] {
    return this.engine.kind
  }

  async load(onProgress: (progress: LoadProgress) => void): Promise<void> {
    this.#listeners.add(onProgress)
    if (this.#last) onProgress(this.#last)
    try {
      this.#loading ??= this.engine
        .load((progress) => {
          this.#last = progress
          for (const listener of this.#listeners) listener(progress)
        })
        .catch((error: unknown) => {
          this.#loading = null
          this.#last = null
          throw error
        })
      await this.#loading
    } finally {
      this.#listeners.delete(onProgress)
    }
  }

  /** A chat that arrives while the model is loading waits for it. */
  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
    if (this.#loading) await this.#loading
    yield* this.engine.chat(request, signal)
  }

  info(): EngineInfo {
    return this.engine.info()
  }

  async unload(): Promise<void> {
    this.#loading = null
    this.#last = null
    await this.engine.unload()
  }
}

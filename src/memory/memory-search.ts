import type { Embedder, EmbedderInfo, EmbeddingModel } from '../inference/embedding/embedder'
import { AbortError } from '../shared/errors'
import { Emitter, type Unsubscribe } from '../shared/events'
import type { EmbeddingStore } from './embedding-db'
import { SemanticIndex, type IndexProgress } from './semantic-index'
import type { MemoryStore } from './store'

/** The memory search switch: off, fetching and loading the model, on (with the index's progress), or failed. */
export type MemorySearchState =
  { phase: 'off' } | { phase: 'loading'; loadedBytes: number; totalBytes: number; text: string } | ({ phase: 'on'; modelId: string } & IndexProgress) | { phase: 'failed'; error: string }

interface Run {
  controller: AbortController
  embedder: Embedder
  index: SemanticIndex | null
  /** What the embedder said of itself once loaded. */
  info: EmbedderInfo | null
  stopProgress: Unsubscribe
}

/** The loaded model as others may use it (the task market runs peers' embedding tasks on it). */
export interface LoadedEmbedder extends EmbedderInfo {
  embed(texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]>
}

interface MemorySearchEvents {
  state: MemorySearchState
}

export interface MemorySearchOptions {
  memory: MemoryStore
  room: string
  model: EmbeddingModel
  createEmbedder: (modelUrl: string) => Embedder
  openStore: () => Promise<EmbeddingStore>
  /** Keeps the user's choice across reloads. */
  saveEnabled: (enabled: boolean) => Promise<void>
  onError?: (error: unknown) => void
}

/**
 * Turns semantic memory search on and off. On: the embedding model is downloaded (once, kept in
 * OPFS) and loaded in its worker, the room's index opened, and the store's search becomes
 * hybrid. Off: the worker ends and search is keyword-only again; the stored vectors stay.
 */
export class MemorySearch {
  #state: MemorySearchState = { phase: 'off' }
  readonly #events: Emitter<MemorySearchEvents>
  #run: Run | null = null

  constructor(private readonly options: MemorySearchOptions) {
    this.#events = new Emitter(options.onError)
  }

  get model(): EmbeddingModel {
    return this.options.model
  }

  state(): MemorySearchState {
    return this.#state
  }

  on<K extends keyof MemorySearchEvents>(event: K, listener: (payload: MemorySearchEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** Downloads (or reads back) and loads the model, then indexes the room's entries; resolves once search is hybrid. */
  async enable(): Promise<void> {
    if (this.#run) return
    const controller = new AbortController()
    const embedder = this.options.createEmbedder(this.options.model.url)
    const run: Run = { controller, embedder, index: null, info: null, stopProgress: () => undefined }
    this.#run = run
    this.#set({ phase: 'loading', loadedBytes: 0, totalBytes: this.options.model.bytes, text: 'starting' })
    try {
      await this.options.saveEnabled(true)
      const info = await embedder.load(({ loadedBytes, totalBytes, text }) => this.#set({ phase: 'loading', loadedBytes, totalBytes: totalBytes || this.options.model.bytes, text }), controller.signal)
      const index = await SemanticIndex.open({
        source: this.options.memory,
        embedder,
        model: info,
        store: await this.options.openStore(),
        room: this.options.room,
        ...(this.options.onError ? { onError: this.options.onError } : {}),
      })
      if (controller.signal.aborted) {
        index.stop()
        throw new AbortError('memory search was turned off')
      }
      run.index = index
      run.info = info
      run.stopProgress = index.on('progress', (progress) => this.#set({ phase: 'on', modelId: info.modelId, ...progress }))
      this.options.memory.setVectorSearch(index)
      this.#set({ phase: 'on', modelId: info.modelId, ...index.progress() })
    } catch (error) {
      if (this.#run === run) this.#run = null
      await embedder.unload().catch(() => undefined)
      if (controller.signal.aborted) return
      this.#set({ phase: 'failed', error: error instanceof Error ? error.message : String(error) })
      throw error
    }
  }

  async disable(): Promise<void> {
    const run = this.#run
    this.#run = null
    await this.options.saveEnabled(false)
    this.options.memory.setVectorSearch(null)
    if (run) {
      run.controller.abort()
      run.stopProgress()
      run.index?.stop()
      await run.embedder.unload().catch(() => undefined)
    }
    this.#set({ phase: 'off' })
  }

  /** Resolves once every entry known now is embedded (nothing to wait for when off). */
  async settled(): Promise<void> {
    await this.#run?.index?.settled()
  }

  /** The embedding model while search is on; null otherwise. */
  loadedEmbedder(): LoadedEmbedder | null {
    const run = this.#run
    if (run?.info == null || run.index === null) return null
    const { embedder } = run
    return { modelId: run.info.modelId, dimensions: run.info.dimensions, embed: (texts, signal) => embedder.embed(texts, signal) }
  }

  /** The version an entry was embedded at, if it is in the index. */
  indexedVersion(id: string): string | undefined {
    return this.#run?.index?.versionOf(id)
  }

  #set(state: MemorySearchState): void {
    this.#state = state
    this.#events.emit('state', state)
  }
}

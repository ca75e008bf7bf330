import type { Embedder, EmbedderInfo } from '../inference/embedding/embedder'
import { Emitter, type Unsubscribe } from '../shared/events'
import type { EmbeddingStore } from './embedding-db'
import type { VectorHit, VectorSearch } from './fusion'
import type { MemoryItem } from './store'
import { VectorIndex, vectorVersion } from './vector-index'

/** What the index holds: entries embedded, and entries waiting for it. */
export interface IndexProgress {
  indexed: number
  pending: number
  /** Entries embedded since the index opened (what storage had needs none). */
  embedded: number
}

interface IndexEvents {
  progress: IndexProgress
}

/** What the index follows: the store's entries and its change event. */
export interface EntrySource {
  items(): MemoryItem[]
  on(event: 'change', listener: (items: readonly MemoryItem[]) => void): Unsubscribe
}

export interface SemanticIndexOptions {
  source: EntrySource
  embedder: Embedder
  model: EmbedderInfo
  store: EmbeddingStore
  room: string
  onError?: (error: unknown) => void
}

/** Entries embedded per call: small, so an edit arriving meanwhile waits little. */
const embedBatch = 16

/**
 * The embeddings of the room's trusted memory entries, kept in step with the store: a new or
 * changed entry (another version) is embedded, a deleted one dropped, in IndexedDB too, so a
 * reload embeds only what changed while the tab was closed. Unverified values are not embedded:
 * a hostile peer's flood costs keyword search only.
 */
export class SemanticIndex implements VectorSearch {
  readonly #index: VectorIndex
  readonly #events: Emitter<IndexEvents>
  readonly #onError: (error: unknown) => void
  readonly #stopChange: Unsubscribe
  #running: Promise<void> | null = null
  #dirty = false
  #stopped = false
  #pending = 0
  #embedded = 0

  private constructor(
    private readonly options: SemanticIndexOptions,
    stored: Map<string, { version: string; vector: Float32Array }>,
  ) {
    this.#onError = options.onError ?? ((error) => console.warn('memory search:', error))
    this.#events = new Emitter(this.#onError)
    this.#index = new VectorIndex(options.model.dimensions)
    for (const [id, entry] of stored) this.#index.set(id, entry)
    this.#stopChange = options.source.on('change', () => this.#schedule())
    this.#schedule()
  }

  /** Reads what this room's index kept, then follows the source. */
  static async open(options: SemanticIndexOptions): Promise<SemanticIndex> {
    return new SemanticIndex(options, await options.store.load(options.room, options.model.modelId, options.model.dimensions))
  }

  on<K extends keyof IndexEvents>(event: K, listener: (payload: IndexEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  progress(): IndexProgress {
    return { indexed: this.#index.size, pending: this.#pending, embedded: this.#embedded }
  }

  /** The version each indexed entry was embedded at (for tests and the view). */
  versionOf(id: string): string | undefined {
    return this.#index.get(id)?.version
  }

  async nearest(query: string, limit: number): Promise<VectorHit[]> {
    const [vector] = await this.options.embedder.embed([query])
    if (!vector) return []
    return this.#index.nearest(vector, limit)
  }

  /** Resolves once every entry known now is embedded (or failed and was reported). */
  async settled(): Promise<void> {
    while (this.#running) await this.#running
  }

  stop(): void {
    this.#stopped = true
    this.#stopChange()
    this.#events.clear()
  }

  #schedule(): void {
    this.#dirty = true
    if (this.#running || this.#stopped) return
    this.#running = this.#drain()
      .catch((error: unknown) => this.#onError(error))
      .finally(() => {
        this.#running = null
      })
  }

  async #drain(): Promise<void> {
    while (this.#dirty && !this.#stopped) {
      this.#dirty = false
      await this.#sync()
    }
  }

  async #sync(): Promise<void> {
    const { room, store, embedder, model } = this.options
    const wanted = new Map<string, { item: MemoryItem; version: string }>()
    for (const item of this.options.source.items()) if (item.trust === 'trusted') wanted.set(item.id, { item, version: vectorVersion(item.updatedAt, item.text) })
    const gone = [...this.#index.ids()].filter((id) => !wanted.has(id))
    for (const id of gone) this.#index.delete(id)
    if (gone.length > 0) await store.remove(room, gone)
    const todo = [...wanted.values()].filter(({ item, version }) => this.#index.get(item.id)?.version !== version)
    this.#pending = todo.length
    this.#emitProgress()
    for (let start = 0; start < todo.length && !this.#stopped; start += embedBatch) {
      const batch = todo.slice(start, start + embedBatch)
      const vectors = await embedder.embed(batch.map(({ item }) => item.text))
      if (this.#isStopped()) return
      const rows = batch.flatMap(({ item, version }, index) => {
        const vector = vectors[index]
        return vector ? [{ room, id: item.id, version, model: model.modelId, vector }] : []
      })
      for (const row of rows) this.#index.set(row.id, { version: row.version, vector: row.vector })
      this.#embedded += rows.length
      await store.put(rows)
      this.#pending = Math.max(0, todo.length - start - batch.length)
      this.#emitProgress()
    }
  }

  /** Read through a call: the flag changes while a batch is embedded. */
  #isStopped(): boolean {
    return this.#stopped
  }

  #emitProgress(): void {
    this.#events.emit('progress', this.progress())
  }
}

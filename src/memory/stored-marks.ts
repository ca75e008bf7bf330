// Marks kept in IndexedDB, beside the room's doc (the browser's; marks.ts is DOM-free).
import { maxMarks, MemoryMarks } from './marks'

const keyPrefix = 'mark\u0000'
// Marks go out in one batch every 2 s: a replay after a crash inside that window is the only loss.
const flushDelayMs = 2_000

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'))
  })
}

/**
 * Marks kept in an object store of the room's own database (y-indexeddb's `custom` store), one
 * record per key, written in batches a moment after they change. A failed write (quota) goes to
 * `onError`; the marks stay in the page and the next change tries again.
 */
export class StoredMarks extends MemoryMarks {
  readonly #dirty = new Map<string, number>()
  #timer: ReturnType<typeof setTimeout> | null = null
  #writing: Promise<void> = Promise.resolve()
  #stopped = false

  private constructor(
    private readonly db: IDBDatabase,
    private readonly storeName: string,
    private readonly onError: (error: unknown) => void,
  ) {
    super()
  }

  static async open(db: IDBDatabase, storeName: string, onError: (error: unknown) => void): Promise<StoredMarks> {
    const marks = new StoredMarks(db, storeName, onError)
    const store = db.transaction(storeName, 'readonly').objectStore(storeName)
    const range = IDBKeyRange.bound(keyPrefix, `${keyPrefix}\uffff`)
    const [keys, values] = await Promise.all([request(store.getAllKeys(range, maxMarks)), request<unknown[]>(store.getAll(range, maxMarks))])
    keys.forEach((key, index) => {
      const at = values[index]
      if (typeof key === 'string' && typeof at === 'number' && Number.isFinite(at)) marks.marks.set(key.slice(keyPrefix.length), at)
    })
    return marks
  }

  protected override changed(key: string, at: number): void {
    if (this.#stopped) return
    this.#dirty.set(key, at)
    this.#timer ??= setTimeout(() => {
      this.#timer = null
      void this.flush()
    }, flushDelayMs)
  }

  /** Writes what changed since the last write; resolves once it is stored (or failed and was reported). */
  flush(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    if (this.#dirty.size === 0) return this.#writing
    const batch = [...this.#dirty]
    this.#dirty.clear()
    this.#writing = this.#writing.then(
      () =>
        new Promise<void>((resolve) => {
          try {
            const tx = this.db.transaction(this.storeName, 'readwrite')
            const store = tx.objectStore(this.storeName)
            for (const [key, at] of batch) store.put(at, keyPrefix + key)
            tx.oncomplete = () => resolve()
            tx.onabort = () => {
              // Not stored: kept to try again with the next change.
              for (const [key, at] of batch) if (!this.#dirty.has(key)) this.#dirty.set(key, at)
              this.onError(tx.error ?? new Error('marks not saved'))
              resolve()
            }
          } catch (error) {
            this.onError(error)
            resolve()
          }
        }),
    )
    return this.#writing
  }

  stop(): Promise<void> {
    const last = this.flush()
    this.#stopped = true
    return last
  }
}

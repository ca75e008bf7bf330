import * as Y from 'yjs'
import { MemoryMarks, type Marks } from '../../memory/marks'
import { StorageFullError } from '../../memory/storage-full'
import { Emitter, type Unsubscribe } from '../../shared/events'

/**
 * Where a room's doc is kept on this device, with the marks beside it. The room talks to its
 * storage through this alone (automerge-repo's StorageAdapterInterface is the model);
 * implementations: y-indexeddb in the browser (IndexeddbDocStorage), memory (MemoryDocStorage).
 * Every implementation passes the suite in test/unit/room-storage.test.ts.
 */
export interface DocStorage {
  /** Resolves once the local copy has been read into the doc, and the marks beside it. */
  readonly whenSynced: Promise<void>
  /** High-water marks of the doc's signed values, kept beside it (complete once whenSynced resolved). */
  marks(): Marks
  /**
   * Resolves once every change made so far has been stored or failed: true when none failed
   * for quota since the call.
   */
  whenStored(): Promise<boolean>
  /** Storage refused a change (quota): one notice per burst of failures. Returns its unsubscribe. */
  onFull(listener: (error: StorageFullError) => void): Unsubscribe
  /** Stops storing (as destroy does) and deletes the local copy; the doc in the page keeps what it has. */
  clear(): Promise<void>
  /** Stops storing changes; resolves once what was pending is written. */
  destroy(): Promise<void>
}

/** Opens a storage for the doc of a room under `name` (rooms of different keys have different names). */
export type OpenDocStorage = (name: string, doc: Y.Doc) => DocStorage

/** While the disk is full every write fails alike: one notice per this much quiet. */
export const storageNoticeQuietMs = 10_000

/**
 * Counts quota failures (whenStored compares the count) and tells them, once per burst.
 * Failures that are not for quota are warned about and not counted.
 */
export class FullNotices {
  readonly #events = new Emitter<{ full: StorageFullError }>()
  #failures = 0
  #toldAt = -Infinity

  constructor(private readonly clock: () => number = Date.now) {}

  get failures(): number {
    return this.#failures
  }

  heard(error: unknown): void {
    if (!(error instanceof StorageFullError)) {
      console.warn('room storage:', error)
      return
    }
    this.#failures++
    const now = this.clock()
    if (now - this.#toldAt < storageNoticeQuietMs) return
    this.#toldAt = now
    this.#events.emit('full', error)
  }

  on(listener: (error: StorageFullError) => void): Unsubscribe {
    return this.#events.on('full', listener)
  }

  clear(): void {
    this.#events.clear()
  }
}

/**
 * What a MemoryDocStorage keeps, outliving it: open another one on the same store and a fresh
 * doc to see a reload. `quotaBytes` makes it refuse updates past that many bytes in all.
 */
export class MemoryDocStore {
  updates: Uint8Array[] = []
  marks = new MemoryMarks()
  quotaBytes = Infinity

  get bytes(): number {
    return this.updates.reduce((sum, update) => sum + update.byteLength, 0)
  }
}

/** A doc kept in memory (scripts, tests, and pages with no IndexedDB): updates as they came. */
export class MemoryDocStorage implements DocStorage {
  readonly whenSynced: Promise<void>
  readonly #notices = new FullNotices()
  #checkedFailures = 0
  /** An update was refused: the next write stores the whole doc, or the updates after it would wait on it forever. */
  #behind = false
  readonly #onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return
    const write = this.#behind ? Y.encodeStateAsUpdate(this.doc) : update
    const kept = this.#behind ? 0 : this.store.bytes
    if (kept + write.byteLength > this.store.quotaBytes) {
      this.#behind = true
      this.#notices.heard(new StorageFullError("This browser's storage is full: the room's latest changes could not be saved on this device."))
      return
    }
    if (this.#behind) this.store.updates = []
    this.#behind = false
    this.store.updates.push(write)
  }

  constructor(
    private readonly doc: Y.Doc,
    readonly store: MemoryDocStore = new MemoryDocStore(),
  ) {
    if (store.updates.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(store.updates), this)
    doc.on('update', this.#onUpdate)
    this.whenSynced = Promise.resolve()
  }

  marks(): Marks {
    return this.store.marks
  }

  whenStored(): Promise<boolean> {
    // Each update is stored or refused as it happens, so the changes not yet confirmed to a
    // caller are those since the last call: none of them may have failed.
    const failures = this.#notices.failures
    const stored = failures === this.#checkedFailures
    this.#checkedFailures = failures
    return Promise.resolve(stored)
  }

  onFull(listener: (error: StorageFullError) => void): Unsubscribe {
    return this.#notices.on(listener)
  }

  async clear(): Promise<void> {
    await this.destroy()
    this.store.updates = []
    this.store.marks = new MemoryMarks()
  }

  destroy(): Promise<void> {
    this.doc.off('update', this.#onUpdate)
    this.#notices.clear()
    return Promise.resolve()
  }
}

import { deleteDB } from 'lib0/indexeddb'
import { IndexeddbPersistence, PREFERRED_TRIM_SIZE, storeState } from 'y-indexeddb'
import type * as Y from 'yjs'
import { MemoryMarks, type Marks } from '../../memory/marks'
import { StoredMarks } from '../../memory/stored-marks'
import { storageError, watchQuota, type StorageFullError } from '../../memory/storage-full'
import { sha256, toHex, utf8 } from '../../shared/encoding'
import type { Unsubscribe } from '../../shared/events'
import { FullNotices, type DocStorage } from './storage'
import { scheduleIdle, UpdateBatch } from './update-batch'

/** y-indexeddb's own store beside the doc's updates; the marks' records start with a prefix of their own. */
const customStoreName = 'custom'
const updatesStoreName = 'updates'

/**
 * The doc in IndexedDB in y-indexeddb's layout (y-indexeddb reads it and compacts it), with the
 * marks in its `custom` store. Updates are written in batches off the sync path (UpdateBatch),
 * not one transaction per update as y-indexeddb does; a page going away writes what is queued.
 * A quota failure is heard on the database (watchQuota) and told through onFull, never swallowed.
 */
export class IndexeddbDocStorage implements DocStorage {
  readonly whenSynced: Promise<void>
  readonly #name: string
  readonly #persistence: IndexeddbPersistence
  readonly #notices = new FullNotices()
  #stopQuota: () => void = () => undefined
  #marks: Marks = new MemoryMarks()
  #stopMarks: () => Promise<void> = () => Promise.resolve()
  readonly #batch: UpdateBatch
  readonly #flushNow = (): void => void this.#batch.flush()
  readonly #flushHidden = (): void => {
    if (document.visibilityState === 'hidden') this.#flushNow()
  }

  constructor(name: string, doc: Y.Doc) {
    this.#name = name
    this.#persistence = new IndexeddbPersistence(name, doc)
    // y-indexeddb writes each update in a transaction of its own, in Yjs's update event: ours go in batches.
    doc.off('update', this.#persistence._storeUpdate)
    this.#batch = new UpdateBatch(doc, (updates) => this.#write(updates), { skipOrigin: this.#persistence, schedule: scheduleIdle })
    addEventListener('pagehide', this.#flushNow)
    document.addEventListener('visibilitychange', this.#flushHidden)
    this.whenSynced = this.#persistence.whenSynced.then(() => this.#afterSync())
  }

  #destroyed(): boolean {
    return this.#persistence._destroyed
  }

  /** One transaction for the batch; y-indexeddb's compaction runs as it would after its own writes. */
  async #write(updates: readonly Uint8Array[]): Promise<boolean> {
    const persistence = this.#persistence
    const db = await persistence._db.catch(() => null)
    if (!db || persistence._destroyed) return db !== null
    const stored = await new Promise<boolean>((resolve) => {
      try {
        const tx = db.transaction(updatesStoreName, 'readwrite')
        const store = tx.objectStore(updatesStoreName)
        for (const update of updates) store.add(update)
        tx.oncomplete = () => resolve(true)
        tx.onabort = () => resolve(false)
        tx.commit()
      } catch {
        resolve(false)
      }
    })
    if (!stored) return false
    persistence._dbsize += updates.length
    // destroy() may have come while the batch was written: it clears the timer below, not a later one.
    if (persistence._dbsize >= PREFERRED_TRIM_SIZE && !this.#destroyed()) {
      // y-indexeddb's debounce: the stored updates are merged into one once writes pause.
      if (persistence._storeTimeoutId !== null) clearTimeout(persistence._storeTimeoutId as ReturnType<typeof setTimeout>)
      persistence._storeTimeoutId = setTimeout(() => {
        persistence._storeTimeoutId = null
        storeState(persistence, false).catch((error: unknown) => this.#notices.heard(storageError(error, "the room's latest changes")))
      }, persistence._storeTimeout)
    }
    return true
  }

  async #afterSync(): Promise<void> {
    const db = this.#persistence.db
    if (!db) return
    this.#stopQuota = watchQuota(db, "the room's latest changes", (error) => this.#notices.heard(error))
    try {
      const marks = await StoredMarks.open(db, customStoreName, (error) => this.#notices.heard(storageError(error, "the room's replay marks")))
      this.#marks = marks
      this.#stopMarks = () => marks.stop()
    } catch (error) {
      // The marks then live in this page only: replays are still refused until a reload.
      console.warn('room: marks not readable, kept in this page only:', error)
    }
  }

  marks(): Marks {
    return this.#marks
  }

  /**
   * A transaction on the updates store runs after every earlier write there has committed or
   * aborted, and aborts are heard before it completes.
   */
  async whenStored(): Promise<boolean> {
    const failures = this.#notices.failures
    const written = await this.#batch.flush()
    const db = this.#persistence.db
    if (!db) return written
    return new Promise((resolve) => {
      try {
        const tx = db.transaction(updatesStoreName, 'readonly')
        tx.objectStore(updatesStoreName).count()
        tx.oncomplete = () => resolve(written && this.#notices.failures === failures)
        tx.onabort = () => resolve(false)
      } catch {
        resolve(false)
      }
    })
  }

  onFull(listener: (error: StorageFullError) => void): Unsubscribe {
    return this.#notices.on(listener)
  }

  async clear(): Promise<void> {
    await this.destroy()
    await deleteDB(this.#name)
  }

  async destroy(): Promise<void> {
    removeEventListener('pagehide', this.#flushNow)
    document.removeEventListener('visibilitychange', this.#flushHidden)
    // The last batches of updates and marks go out before the database closes.
    await Promise.all([this.#batch.stop(), this.#stopMarks()])
    this.#stopQuota()
    this.#notices.clear()
    await this.#persistence.destroy()
  }
}

/** Rooms of the same name with different keys are different rooms, stored apart. */
export async function storageNameOf(room: string, key: string | null): Promise<string> {
  const keyTag = key === null ? 'open' : toHex(await sha256(utf8(`${room}\u0000${key}`))).slice(0, 16)
  return `edgeswarm-room:${room}:${keyTag}`
}

/**
 * Deletes a room's local copy (doc and marks) from this profile. While another tab holds the
 * room open the browser waits for it to close; this resolves once the copy is gone.
 */
export async function deleteRoomDoc(room: string, key: string | null): Promise<void> {
  await deleteDB(await storageNameOf(room, key))
}

import { deleteDB } from 'lib0/indexeddb'
import { IndexeddbPersistence } from 'y-indexeddb'
import type * as Y from 'yjs'
import { MemoryMarks, type Marks } from '../../memory/marks'
import { StoredMarks } from '../../memory/stored-marks'
import { storageError, watchQuota, type StorageFullError } from '../../memory/storage-full'
import { sha256, toHex, utf8 } from '../../shared/encoding'
import type { Unsubscribe } from '../../shared/events'
import { FullNotices, type DocStorage } from './storage'

/** y-indexeddb's own store beside the doc's updates; the marks' records start with a prefix of their own. */
const customStoreName = 'custom'
const updatesStoreName = 'updates'

/**
 * The doc in IndexedDB through y-indexeddb, with the marks in its `custom` store. y-indexeddb
 * catches none of its write failures: a quota failure is heard on the database (watchQuota)
 * and told through onFull, never swallowed.
 */
export class IndexeddbDocStorage implements DocStorage {
  readonly whenSynced: Promise<void>
  readonly #name: string
  readonly #persistence: IndexeddbPersistence
  readonly #notices = new FullNotices()
  #stopQuota: () => void = () => undefined
  #marks: Marks = new MemoryMarks()
  #stopMarks: () => Promise<void> = () => Promise.resolve()

  constructor(name: string, doc: Y.Doc) {
    this.#name = name
    this.#persistence = new IndexeddbPersistence(name, doc)
    this.whenSynced = this.#persistence.whenSynced.then(() => this.#afterSync())
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
  whenStored(): Promise<boolean> {
    const db = this.#persistence.db
    if (!db) return Promise.resolve(true)
    const failures = this.#notices.failures
    return new Promise((resolve) => {
      try {
        const tx = db.transaction(updatesStoreName, 'readonly')
        tx.objectStore(updatesStoreName).count()
        tx.oncomplete = () => resolve(this.#notices.failures === failures)
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
    // The marks' last batch goes out before the database closes.
    await this.#stopMarks()
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

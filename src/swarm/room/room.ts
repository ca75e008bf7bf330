import { IndexeddbPersistence } from 'y-indexeddb'
import { WebrtcProvider } from 'y-webrtc'
import * as Y from 'yjs'
import { MemoryMarks, StoredMarks, type Marks } from '../../memory/marks'
import { storageError, StorageFullError, watchQuota } from '../../memory/storage-full'
import { sha256, toHex, utf8 } from '../../shared/encoding'
import { Emitter, type Unsubscribe } from '../../shared/events'
import { BudgetGuard, defaultBudgets, type Budgets, type Drop, type Drops } from './budget'

export interface RoomOptions {
  room: string
  key: string | null
  signalingUrl: string
  iceServers?: RTCIceServer[]
  /** What one peer may send before its messages are dropped unread (defaultBudgets). */
  budgets?: Budgets
}

export interface Links {
  /** y-webrtc's id for this tab's connection (not the node id). */
  linkId: string | null
  /** y-webrtc ids of the peers this tab has a WebRTC connection to. */
  webrtc: string[]
}

interface RoomEvents {
  links: Links
  synced: boolean
  /** A peer's message was dropped before Yjs read it (too big, over its budget, malformed). */
  drop: Drop
  /** This browser refused to store the room's changes: they are in the page and with the peers, not on this device. */
  'storage-full': StorageFullError
}

/** y-indexeddb's own store beside the doc's updates; the marks' records start with a prefix of their own. */
const customStoreName = 'custom'
const updatesStoreName = 'updates'
const storageNoticeQuietMs = 10_000
const defaultIceServers: RTCIceServer[] = [{ urls: 'stun:stun.l.google.com:19302' }]

/**
 * One room: its Y.Doc persisted in IndexedDB and shared over WebRTC with y-webrtc, using our
 * relay as the signaling server and the room key as y-webrtc's password. Any stock y-webrtc
 * client with the same name, password and signaling URL joins the same room. Every peer's
 * message passes a byte budget (BudgetGuard) before Yjs reads it; a storage failure (quota)
 * is told as 'storage-full', never swallowed.
 */
export class Room {
  readonly doc = new Y.Doc()
  readonly provider: WebrtcProvider
  readonly persistence: IndexeddbPersistence
  /** High-water marks of the doc's signed values, kept beside the doc (set once the local copy is read). */
  marks: Marks = new MemoryMarks()
  readonly #guard: BudgetGuard
  readonly #events = new Emitter<RoomEvents>()
  readonly #stops: (() => void)[] = []
  #storageFull: StorageFullError | null = null
  #quotaFailures = 0
  #toldFullAt = -Infinity
  #links: Links = { linkId: null, webrtc: [] }

  private constructor(options: RoomOptions, storageName: string) {
    this.persistence = new IndexeddbPersistence(storageName, this.doc)
    this.#guard = new BudgetGuard(options.budgets ?? defaultBudgets, (drop) => this.#events.emit('drop', drop))
    this.provider = new WebrtcProvider(options.room, this.doc, {
      signaling: [options.signalingUrl],
      ...(options.key === null ? {} : { password: options.key }),
      peerOpts: { config: { iceServers: options.iceServers ?? defaultIceServers } },
      guard: this.#guard,
    })
    this.provider.on('peers', ({ webrtcPeers }) => {
      this.#links = { linkId: this.provider.room?.peerId ?? null, webrtc: [...webrtcPeers].sort() }
      this.#events.emit('links', this.#links)
    })
    this.provider.on('synced', ({ synced }) => this.#events.emit('synced', synced))
  }

  /** Opens the room once its local copy (and the marks beside it) has been read from IndexedDB. */
  static async open(options: RoomOptions): Promise<Room> {
    const room = new Room(options, await storageNameOf(options.room, options.key))
    await room.persistence.whenSynced
    const db = room.persistence.db
    if (db) {
      room.#stops.push(watchQuota(db, "the room's latest changes", (error) => room.#full(error)))
      try {
        const marks = await StoredMarks.open(db, customStoreName, (error) => room.#full(storageError(error, "the room's replay marks")))
        room.marks = marks
        room.#stops.push(() => void marks.stop())
      } catch (error) {
        // The marks then live in this page only: replays are still refused until a reload.
        console.warn('room: marks not readable, kept in this page only:', error)
      }
    }
    return room
  }

  /** Messages of peers dropped so far before Yjs read them, by reason. */
  drops(): Drops {
    return this.#guard.drops()
  }

  /** The last storage failure heard, or null when there was none. */
  storageFull(): StorageFullError | null {
    return this.#storageFull
  }

  /**
   * Resolves once every change made so far has been written to IndexedDB or failed: true when
   * none failed for quota since the call. (A transaction on the updates store runs after every
   * earlier write there has committed or aborted, and aborts are heard before it completes.)
   */
  whenStored(): Promise<boolean> {
    const db = this.persistence.db
    if (!db) return Promise.resolve(true)
    const failures = this.#quotaFailures
    return new Promise((resolve) => {
      try {
        const tx = db.transaction(updatesStoreName, 'readonly')
        tx.objectStore(updatesStoreName).count()
        tx.oncomplete = () => resolve(this.#quotaFailures === failures)
        tx.onabort = () => resolve(false)
      } catch {
        resolve(false)
      }
    })
  }

  #full(error: unknown): void {
    if (!(error instanceof StorageFullError)) {
      console.warn('room storage:', error)
      return
    }
    this.#quotaFailures++
    // One notice per burst: y-indexeddb writes once per update, and each one fails alike.
    const now = Date.now()
    if (now - this.#toldFullAt < storageNoticeQuietMs) return
    this.#toldFullAt = now
    this.#storageFull = error
    this.#events.emit('storage-full', error)
  }

  get awareness(): WebrtcProvider['awareness'] {
    return this.provider.awareness
  }

  links(): Links {
    return { ...this.#links, linkId: this.provider.room?.peerId ?? null }
  }

  on<K extends keyof RoomEvents>(event: K, listener: (payload: RoomEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  async destroy(): Promise<void> {
    for (const stop of this.#stops) stop()
    this.provider.destroy()
    await this.persistence.destroy()
    this.doc.destroy()
  }
}

/** Rooms of the same name with different keys are different rooms, stored apart. */
async function storageNameOf(room: string, key: string | null): Promise<string> {
  const keyTag = key === null ? 'open' : toHex(await sha256(utf8(`${room}\u0000${key}`))).slice(0, 16)
  return `edgeswarm-room:${room}:${keyTag}`
}

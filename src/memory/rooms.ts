import * as v from 'valibot'
import { roomIdOf } from '../shared/room-id'
import type { LocalDb, StoredRoom } from './local-db'
import { savingOrSay } from './storage-full'

/** Where the room list is kept: the `rooms` store of the profile's database, or a map in tests. */
export interface RoomRecords {
  get(id: string): Promise<unknown>
  put(room: StoredRoom): Promise<void>
  delete(id: string): Promise<void>
  all(): Promise<unknown[]>
}

export function roomRecordsIn(db: LocalDb): RoomRecords {
  return {
    get: (id) => db.get('rooms', id),
    put: async (room) => {
      await savingOrSay('the room list', () => db.put('rooms', room))
    },
    delete: (id) => db.delete('rooms', id),
    all: () => db.getAll('rooms'),
  }
}

/** At most this many peer ids are kept per room; past it the count only grows by what a visit sees. */
export const maxPeerIdsKept = 512
export const maxRoomNameLength = 80

const StoredRoomSchema = v.object({
  id: v.pipe(v.string(), v.maxLength(64)),
  room: v.pipe(v.string(), v.maxLength(64)),
  key: v.nullable(v.pipe(v.string(), v.maxLength(512))),
  name: v.pipe(v.string(), v.maxLength(maxRoomNameLength)),
  createdAt: v.number(),
  lastOpenAt: v.number(),
  peersSeen: v.pipe(v.number(), v.integer(), v.minValue(0)),
  memoryCount: v.pipe(v.number(), v.integer(), v.minValue(0)),
  peerIds: v.exactOptional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(64))), v.maxLength(maxPeerIdsKept))),
})

/** A record that does not fit the schema (another version wrote it, or it was damaged) reads as none. */
function readRoom(value: unknown): StoredRoom | null {
  const parsed = v.safeParse(StoredRoomSchema, value)
  return parsed.success ? parsed.output : null
}

/**
 * The rooms this profile has been in: recorded when one opens, listed newest first, renamed
 * and forgotten locally. Nothing here leaves the device.
 */
export class RoomRegistry {
  constructor(
    private readonly records: RoomRecords,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Every room, the one open last first. */
  async list(): Promise<StoredRoom[]> {
    const rooms = (await this.records.all()).map(readRoom).filter((room): room is StoredRoom => room !== null)
    return rooms.sort((a, b) => b.lastOpenAt - a.lastOpenAt || a.id.localeCompare(b.id))
  }

  /** The room open last, or null in a profile that has been in none. */
  async last(): Promise<StoredRoom | null> {
    return (await this.list())[0] ?? null
  }

  async get(id: string): Promise<StoredRoom | null> {
    return readRoom(await this.records.get(id))
  }

  /** Records that `room` (with `key`) is open now: a new entry, or its lastOpenAt moved. */
  async open(room: string, key: string | null): Promise<StoredRoom> {
    const id = await roomIdOf(room, key)
    const now = this.clock()
    const known = await this.get(id)
    const next: StoredRoom = known ? { ...known, lastOpenAt: Math.max(now, known.lastOpenAt) } : { id, room, key, name: '', createdAt: now, lastOpenAt: now, peersSeen: 0, memoryCount: 0, peerIds: [] }
    await this.records.put(next)
    return next
  }

  /** The user's own name for a room; empty shows the room name again. */
  async rename(id: string, name: string): Promise<void> {
    const known = await this.get(id)
    if (!known) return
    await this.records.put({ ...known, name: name.trim().slice(0, maxRoomNameLength) })
  }

  /** Removes the room from the list (its doc is the caller's to delete). */
  async forget(id: string): Promise<void> {
    await this.records.delete(id)
  }

  /**
   * Folds what a visit saw into the stored room: peer ids join the ones seen before, the memory
   * count replaces the old one. A room forgotten meanwhile stays forgotten.
   */
  async note(id: string, seen: { peerIds: readonly string[]; memoryCount: number }): Promise<void> {
    const known = await this.get(id)
    if (!known) return
    const before = known.peerIds ?? []
    const ids = new Set(before)
    let added = 0
    for (const peerId of seen.peerIds) {
      if (ids.has(peerId)) continue
      added++
      if (ids.size < maxPeerIdsKept) ids.add(peerId)
    }
    const peerIds = [...ids]
    await this.records.put({ ...known, peerIds, peersSeen: Math.max(known.peersSeen + added, peerIds.length), memoryCount: seen.memoryCount })
  }
}

export interface RoomVisitOptions {
  /** What the visit saw is written at most this often (a busy room changes every second). */
  writeEveryMs?: number
  onError?: (error: unknown) => void
}

export const defaultVisitWriteEveryMs = 5_000

/**
 * The open room's counts, kept up to date: peers and memory are told as they change, and
 * written at most once per `writeEveryMs` (the first change waits that long, later ones ride
 * along), and once more on flush.
 */
export class RoomVisit {
  readonly #peerIds = new Set<string>()
  #memoryCount: number | null = null
  #dirty = false
  #timer: ReturnType<typeof setTimeout> | null = null
  #writing: Promise<void> = Promise.resolve()
  readonly #writeEveryMs: number
  readonly #onError: (error: unknown) => void

  constructor(
    private readonly registry: RoomRegistry,
    readonly roomId: string,
    options: RoomVisitOptions = {},
  ) {
    this.#writeEveryMs = options.writeEveryMs ?? defaultVisitWriteEveryMs
    this.#onError = options.onError ?? ((error) => console.warn('room list:', error))
  }

  /** Peers seen now (node ids); ids seen earlier in the visit stay counted. */
  peers(nodeIds: Iterable<string>): void {
    const size = this.#peerIds.size
    for (const nodeId of nodeIds) this.#peerIds.add(nodeId)
    if (this.#peerIds.size !== size) this.#changed()
  }

  memory(count: number): void {
    if (count === this.#memoryCount) return
    this.#memoryCount = count
    this.#changed()
  }

  /** Writes what is pending now; resolves once written (or failed, told to onError). */
  flush(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    if (!this.#dirty) return this.#writing
    this.#dirty = false
    const seen = { peerIds: [...this.#peerIds], memoryCount: this.#memoryCount ?? 0 }
    // Writes go one after another, so an older count never lands after a newer one.
    this.#writing = this.#writing.then(() => this.registry.note(this.roomId, seen)).catch(this.#onError)
    return this.#writing
  }

  /** Stops the timer; what is pending is dropped unless flushed first. */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#dirty = false
  }

  #changed(): void {
    this.#dirty = true
    if (this.#timer !== null) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      void this.flush()
    }, this.#writeEveryMs)
  }
}

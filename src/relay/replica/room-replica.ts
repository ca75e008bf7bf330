// One room's doc on disk: `<dir>/<roomId>.snapshot` (the whole state, one record) and
// `<dir>/<roomId>.log` (updates since, appended in batches and fsynced). The log is compacted
// into a new snapshot when it outgrows it; a doc over the cap stops being saved, and a write
// that fails (a full disk) stops saving until a later compaction succeeds, each with one logged
// error. The file names carry the room id, a digest: never the room's name or key.
import { open, readFile, rename, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import * as Y from 'yjs'
import type { Logger } from '../log'
import { decodeRecords, encodeRecords } from './records'

export interface ReplicaOptions {
  /** The largest doc (its encoded state) kept on disk. */
  maxBytes: number
  /** How long updates gather before one write and fsync. */
  flushMs?: number
  /** How long saving rests after a failed write before it tries a compaction again. */
  retryMs?: number
}

/** What /healthz shows of a replica. */
export type ReplicaSummary = { state: 'saving' | 'over-cap' | 'failed'; bytes: number; reason?: string }

const defaultFlushMs = 250
const defaultRetryMs = 30_000
/** A log under this is never compacted: small docs are not rewritten on every batch. */
const compactFloorBytes = 1024 * 1024

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error))

async function readOrEmpty(file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0)
    throw error
  }
}

export class RoomReplica {
  readonly #snapshotFile: string
  readonly #dir: string
  readonly #options: Required<ReplicaOptions>
  readonly #log: Logger
  readonly #room: string
  #loaded: Uint8Array[]
  #handle: FileHandle | null = null
  #doc: Y.Doc | null = null
  #pending: Uint8Array[] = []
  #snapshotBytes: number
  #logBytes: number
  #state: ReplicaSummary = { state: 'saving', bytes: 0 }
  #flushTimer: ReturnType<typeof setTimeout> | null = null
  #retryTimer: ReturnType<typeof setTimeout> | null = null
  /** Writes run one after another: a flush, a compaction, the last flush of close. */
  #writing: Promise<void> = Promise.resolve()
  readonly #onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this || this.#state.state !== 'saving') return
    this.#pending.push(update)
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = null
      void this.flush()
    }, this.#options.flushMs)
  }

  private constructor(dir: string, roomId: string, room: string, options: ReplicaOptions, log: Logger, loaded: Uint8Array[], sizes: { snapshot: number; log: number }) {
    this.#dir = dir
    this.#snapshotFile = path.join(dir, `${roomId}.snapshot`)
    this.#options = { flushMs: defaultFlushMs, retryMs: defaultRetryMs, ...options }
    this.#log = log
    this.#room = room
    this.#loaded = loaded
    this.#snapshotBytes = sizes.snapshot
    this.#logBytes = sizes.log
  }

  /**
   * Reads the room's files in `dir` (which must exist); a torn tail of the log is cut off. The
   * doc is not touched until `attach`.
   */
  static async open(dir: string, roomId: string, room: string, options: ReplicaOptions, log: Logger): Promise<RoomReplica> {
    const snapshotFile = path.join(dir, `${roomId}.snapshot`)
    const logFile = path.join(dir, `${roomId}.log`)
    const [snapshotBytes, logBytes] = await Promise.all([readOrEmpty(snapshotFile), readOrEmpty(logFile)])
    const snapshot = decodeRecords(snapshotBytes)
    if (snapshot.validBytes < snapshotBytes.byteLength) log.error('replica: the snapshot is damaged; loading what is whole of it', { room, file: snapshotFile })
    const updates = decodeRecords(logBytes)
    const replica = new RoomReplica(dir, roomId, room, options, log, [...snapshot.payloads, ...updates.payloads], { snapshot: snapshot.validBytes, log: updates.validBytes })
    replica.#handle = await open(logFile, 'a', 0o600)
    if (updates.validBytes < logBytes.byteLength) {
      log.warn('replica: dropped a torn last write of the log', { room, droppedBytes: logBytes.byteLength - updates.validBytes })
      await replica.#handle.truncate(updates.validBytes)
    }
    return replica
  }

  /** Puts what was on disk into `doc`, then saves every later change of it. */
  attach(doc: Y.Doc): void {
    this.#doc = doc
    const loaded = this.#loaded
    this.#loaded = []
    if (loaded.length > 0) {
      try {
        doc.transact(() => {
          for (const update of loaded) Y.applyUpdate(doc, update, this)
        }, this)
      } catch (error) {
        this.#log.error('replica: the saved doc does not load; starting from what the room has', { room: this.#room, error })
      }
    }
    this.#state = { state: 'saving', bytes: this.#snapshotBytes + this.#logBytes }
    doc.on('update', this.#onUpdate)
    this.#log.info('replica loaded', { room: this.#room, bytes: this.#snapshotBytes + this.#logBytes, records: loaded.length })
  }

  summary(): ReplicaSummary {
    return { ...this.#state }
  }

  /** Writes and fsyncs what gathered; resolves once it is on disk (or saving stopped). */
  flush(): Promise<void> {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer)
    this.#flushTimer = null
    return this.#serially(() => this.#writePending())
  }

  #serially(step: () => Promise<void>): Promise<void> {
    this.#writing = this.#writing.then(step).catch((error: unknown) => this.#failed(error))
    return this.#writing
  }

  async #writePending(): Promise<void> {
    const batch = this.#pending
    this.#pending = []
    const handle = this.#handle
    if (batch.length === 0 || handle === null || this.#state.state !== 'saving') return
    const bytes = encodeRecords(batch)
    if (this.#snapshotBytes + this.#logBytes + bytes.byteLength > this.#options.maxBytes || this.#logBytes + bytes.byteLength > Math.max(compactFloorBytes, this.#snapshotBytes)) {
      return this.#compact()
    }
    await handle.write(bytes)
    await handle.datasync()
    this.#logBytes += bytes.byteLength
    this.#state = { state: 'saving', bytes: this.#snapshotBytes + this.#logBytes }
  }

  /** The whole doc as a new snapshot (written aside, fsynced, renamed over), then an empty log. */
  async #compact(): Promise<void> {
    const doc = this.#doc
    const handle = this.#handle
    if (doc === null || handle === null) return
    this.#pending = []
    const snapshot = encodeRecords([Y.encodeStateAsUpdate(doc)])
    if (snapshot.byteLength > this.#options.maxBytes) {
      this.#state = { state: 'over-cap', bytes: snapshot.byteLength, reason: `the doc is ${snapshot.byteLength} bytes, over RELAY_REPLICA_MAX_BYTES ${this.#options.maxBytes}` }
      this.#log.error('replica: the room doc outgrew the cap; it is no longer saved (what is on disk stays)', { room: this.#room, bytes: snapshot.byteLength, maxBytes: this.#options.maxBytes })
      return
    }
    const aside = `${this.#snapshotFile}.tmp`
    const file = await open(aside, 'w', 0o600)
    try {
      await file.write(snapshot)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(aside, this.#snapshotFile)
    // The rename is durable only once the directory is.
    const dir = await open(this.#dir, 'r')
    await dir.sync().finally(() => dir.close())
    // A crash before this truncate leaves log updates the snapshot already holds: applying them twice is harmless.
    await handle.truncate(0)
    await handle.datasync()
    this.#snapshotBytes = snapshot.byteLength
    this.#logBytes = 0
    this.#state = { state: 'saving', bytes: snapshot.byteLength }
  }

  /** Saving stops with one logged error; after a rest a compaction tries to write the whole doc again. */
  #failed(error: unknown): void {
    const reason = `writing ${this.#room}'s replica failed: ${codeOf(error)}`
    this.#pending = []
    if (this.#state.state === 'saving') this.#log.error('replica: saving stopped', { room: this.#room, error })
    this.#state = { state: 'failed', bytes: this.#snapshotBytes + this.#logBytes, reason }
    if (this.#retryTimer !== null || this.#handle === null) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null
      void this.#serially(async () => {
        await this.#compact()
        if (this.#state.state === 'saving') this.#log.info('replica: saving again', { room: this.#room, bytes: this.#snapshotBytes })
      })
    }, this.#options.retryMs)
    this.#retryTimer.unref()
  }

  /** Saves what gathered, stops watching the doc, closes the log. */
  async close(): Promise<void> {
    this.#doc?.off('update', this.#onUpdate)
    await this.flush()
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer)
    this.#retryTimer = null
    const handle = this.#handle
    this.#handle = null
    await handle?.close().catch(() => undefined)
  }
}

import * as Y from 'yjs'

/**
 * A peer's update waits at most this long to be written with the ones after it. Stored off the
 * sync path, a crash inside this window loses only what the peers still hold and send again on
 * the next sync; this tab's own changes are written at once.
 */
export const remoteUpdateDelayMs = 200
/** Pending bytes past this are written at once (a whole doc arriving in one sync step). */
export const pendingBytesMax = 1024 * 1024

/** Writes updates in one transaction: true once stored, false when refused (quota). Never rejects. */
export type WriteUpdates = (updates: readonly Uint8Array[]) => Promise<boolean>

/** Runs `run` once later, soon after `maxMs` at the latest; returns its cancel. */
export type Schedule = (run: () => void, maxMs: number) => () => void

export const scheduleTimeout: Schedule = (run, maxMs) => {
  const timer = setTimeout(run, maxMs)
  return () => clearTimeout(timer)
}

/**
 * A write that can wait runs when the tab is idle, but no sooner than half its deadline, and
 * within its deadline all the same (a busy or hidden tab). Idle came between any two writes of
 * a stream (a peer's entry every 40 ms), so each went in a transaction of its own, and opening
 * one cost more than the write; now a stream's updates go a few to a transaction.
 */
export const scheduleIdle: Schedule = (run, maxMs) => {
  if (maxMs <= 0 || typeof requestIdleCallback !== 'function') {
    const timer = setTimeout(run, maxMs)
    return () => clearTimeout(timer)
  }
  let idle: number | null = null
  const timer = setTimeout(() => {
    idle = requestIdleCallback(run, { timeout: maxMs / 2 })
  }, maxMs / 2)
  return () => {
    clearTimeout(timer)
    if (idle !== null) cancelIdleCallback(idle)
  }
}

export interface UpdateBatchOptions {
  /** Updates of this origin are not written (those read from the storage itself). */
  skipOrigin?: unknown
  remoteDelayMs?: number
  maxPendingBytes?: number
  schedule?: Schedule
}

/**
 * A doc's updates on their way to storage, batched: each update is queued as Yjs applies it
 * (nothing is written on the sync path) and goes out with the others of its moment, in one
 * write. This tab's own changes (a local transaction) go out in the next task, after the
 * provider has sent them; a peer's wait up to `remoteDelayMs` (or until `flush`). Writes go one
 * after another; after a refused one, the next write is the whole doc, so what was refused is
 * stored with the next change.
 */
export class UpdateBatch {
  readonly #doc: Y.Doc
  readonly #write: WriteUpdates
  readonly #options: Required<Omit<UpdateBatchOptions, 'skipOrigin'>> & { skipOrigin: unknown }
  #pending: Uint8Array[] = []
  #bytes = 0
  #cancel: (() => void) | null = null
  #soon = false
  #behind = false
  #writing: Promise<void> = Promise.resolve()
  #refusals = 0
  #stopped = false
  readonly #onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, transaction: Y.Transaction): void => {
    if (origin === this.#options.skipOrigin && origin !== undefined) return
    this.#pending.push(update)
    this.#bytes += update.byteLength
    if (this.#bytes >= this.#options.maxPendingBytes) void this.flush()
    else this.#schedule(transaction.local)
  }

  constructor(doc: Y.Doc, write: WriteUpdates, options: UpdateBatchOptions = {}) {
    this.#doc = doc
    this.#write = write
    this.#options = {
      skipOrigin: options.skipOrigin,
      remoteDelayMs: options.remoteDelayMs ?? remoteUpdateDelayMs,
      maxPendingBytes: options.maxPendingBytes ?? pendingBytesMax,
      schedule: options.schedule ?? scheduleTimeout,
    }
    doc.on('update', this.#onUpdate)
  }

  /** Updates queued and not yet handed to a write. */
  get pending(): number {
    return this.#pending.length
  }

  /**
   * Writes what is queued now; resolves once every write so far is done: true when none was
   * refused since the call.
   */
  flush(): Promise<boolean> {
    this.#cancelScheduled()
    const refusals = this.#refusals
    if (this.#pending.length > 0 || this.#behind) {
      // After a refusal the whole doc goes out: it holds the refused updates and the queued ones.
      const batch = this.#behind ? [Y.encodeStateAsUpdate(this.#doc)] : this.#pending
      this.#pending = []
      this.#bytes = 0
      this.#behind = false
      this.#writing = this.#writing.then(async () => {
        // A write that throws is one that stored nothing: the chain must go on.
        if (await this.#write(batch).catch(() => false)) return
        this.#behind = true
        this.#refusals++
      })
    }
    return this.#writing.then(() => this.#refusals === refusals)
  }

  /** Stops queueing; resolves once what was queued is written. */
  stop(): Promise<boolean> {
    if (!this.#stopped) this.#doc.off('update', this.#onUpdate)
    this.#stopped = true
    return this.flush()
  }

  #schedule(local: boolean): void {
    if (this.#cancel && (this.#soon || !local)) return
    this.#cancelScheduled()
    this.#soon = local
    this.#cancel = this.#options.schedule(
      () => {
        this.#cancel = null
        void this.flush()
      },
      local ? 0 : this.#options.remoteDelayMs,
    )
  }

  #cancelScheduled(): void {
    this.#cancel?.()
    this.#cancel = null
    this.#soon = false
  }
}

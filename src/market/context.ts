import type * as Y from 'yjs'
import type { Emitter } from '../shared/events'
import type { Signer } from '../shared/sign'
import type { Result, Spec } from './schema'
import type { RoomSigner, Verdicts } from './signing'
import type { Suspicion } from './suspicion'
import type { TaskReader } from './task-doc'
import type { LivePeer, MarketConfig, MarketEvents, SpeedModel, Timers } from './types'

/** What the poster and executor halves of a node share. */
export interface MarketContext {
  doc: Y.Doc
  tasks: Y.Map<unknown>
  signer: Signer
  /** The room's id: bound into every record signed or verified. */
  roomId: string
  /** `signer` for this room, as signing.ts takes it. */
  room: RoomSigner
  /** This node's signature verdicts: every check the node makes goes through them. */
  verdicts: Verdicts
  /** Peers that claimed and did not deliver, as this node saw it. */
  suspicion: Suspicion
  config: MarketConfig
  clock: () => number
  timers: TimerSet
  reader: TaskReader
  work: SerialWork
  events: Emitter<MarketEvents>
  /** Live peers, this node included when it has an engine. */
  livePeers(): LivePeer[]
  reputation(nodeId: string): number
  /** Corrects bid and award estimates by measured completion times; identitySpeed when none. */
  speed: SpeedModel
  /** Called once when a task this node posted reaches a final status. */
  taskFinished(taskId: string): void
  /** A task this node posted accepted this signed result: a vote may cite it as evidence, the ledger gets its receipt. */
  accepted(result: Result, spec: Spec): void
  report(error: unknown): void
}

/**
 * Async work of one node runs one job at a time, in the order it was asked for: a node's
 * writes then follow the order of the events it saw, whatever order its signatures finish in,
 * which keeps a simulation on virtual time reproducible.
 */
export class SerialWork {
  #tail: Promise<void> = Promise.resolve()
  #pending = 0
  #stopped = false

  constructor(private readonly report: (error: unknown) => void) {}

  get pending(): number {
    return this.#pending
  }

  get stopped(): boolean {
    return this.#stopped
  }

  /** Jobs not started yet are skipped; a node that stopped writes nothing more. */
  stop(): void {
    this.#stopped = true
  }

  /**
   * Starts a job at once, beside the serial ones (counted in `pending` all the same): for
   * checks whose effects do not depend on their order, such as a stream's signed batches, which
   * are put in place by their sequence number. A chain of signature checks one after another
   * would let a busy page fall seconds behind the stream.
   */
  parallel(job: () => Promise<void>): void {
    if (this.#stopped) return
    this.#pending++
    job()
      .catch((error: unknown) => this.report(error))
      .finally(() => {
        this.#pending--
      })
  }

  run(job: () => Promise<void> | void): void {
    this.#pending++
    this.#tail = this.#tail
      .then(() => (this.#stopped ? undefined : job()))
      .catch((error: unknown) => this.report(error))
      .finally(() => {
        this.#pending--
      })
  }
}

/** Timers that report a throwing callback and can all be cleared when the node stops. */
export class TimerSet {
  readonly #handles = new Set<{ handle: unknown }>()
  #stopped = false

  constructor(
    private readonly timers: Timers,
    private readonly report: (error: unknown) => void,
  ) {}

  after(delayMs: number, callback: () => void): () => void {
    if (this.#stopped) return () => undefined
    const slot: { handle: unknown } = { handle: null }
    slot.handle = this.timers.setTimeout(() => {
      this.#handles.delete(slot)
      if (this.#stopped) return
      try {
        callback()
      } catch (error) {
        this.report(error)
      }
    }, delayMs)
    this.#handles.add(slot)
    return () => {
      if (this.#handles.delete(slot)) this.timers.clearTimeout(slot.handle)
    }
  }

  stop(): void {
    this.#stopped = true
    for (const slot of this.#handles) this.timers.clearTimeout(slot.handle)
    this.#handles.clear()
  }
}

import type { SpeedQuery } from '../micronets/speed'
import type { EnginePresence, ServeMode } from '../shared/protocol'
import type { EmbedderPresence } from './embed-task'
import type { Requirements } from './schema'

/** A peer of the room as the app's awareness sees it now. */
export interface LivePeer {
  nodeId: string
  engine: EnginePresence | null
  /** Tasks awarded to it that it has not finished. */
  queueLength: number
  /** False for a hidden tab, which browsers slow down. */
  visible: boolean
  /** One-way delay to it, measured or guessed. */
  linkDelayMs: number
  /** Whether it runs peers' tasks (its presence's `serve`); absent: it does. A poster does not award to `off`. */
  serve?: ServeMode
  /** Its loaded embedding model (its presence's `embedder`): it bids on embedding tasks for it. */
  embedder?: EmbedderPresence | null
}

/** What a speed model reads of one task on one peer: the request's size and the peer's advertised speed and state. */
export type { SpeedQuery } from '../micronets/speed'

/**
 * Learns how long peers really take (src/micronets/speed.ts has the micro-net one). `baseMs` is
 * the estimate it corrects: when this node bids, its analytic estimate of itself; when it
 * awards, the bidder's own claim (its bid). So the poster learns how far each peer's claims
 * can be trusted, which stays right whether or not that peer corrects its own bids.
 */
export interface SpeedModel {
  predictMs(peerId: string, query: SpeedQuery, baseMs: number): number
  observe(peerId: string, query: SpeedQuery, baseMs: number, actualMs: number): void
}

/** Takes every estimate as it is and learns nothing: the market's behaviour without a model. */
export const identitySpeed: SpeedModel = {
  predictMs: (_peerId, _query, baseMs) => baseMs,
  observe: () => undefined,
}

/** Injected so that a simulation runs on virtual time. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown
  clearTimeout(handle: unknown): void
}

export interface MarketConfig {
  bidWindowMs: number
  /**
   * The longest an executor may stay silent (no lease renewal, no fresh output batch) before its
   * award lapses: a hidden tab's window (its timers run once a second) and the cap of any window.
   */
  leaseMs: number
  /** A visible executor's window (award.ts liveWindowMs): a frozen tab is replaced after this much silence. */
  liveMs: number
  /** An executor renews at least this often (and at least every leaseMs / 3). */
  renewMs: number
  outputBatchMs: number
  maxQueue: number
  /** A task that no capable peer bids on within this fails. */
  noBidTimeoutMs: number
  /** A finished task stays in `tasks` this long, then only its brief in `log` remains. */
  retainMs: number
  /**
   * The longest a task may stay in the doc: the cap on the expiry a poster signs and on the one
   * a reader honours (expiry.ts). The room's contract: every node should use the same.
   */
  maxLifetimeMs: number
  /** How far a peer's clock may run ahead: an expired task is deleted this long after its expiry. */
  expirySkewMs: number
  maxLog: number
  /** At most this many peers (picked by rendezvous hash) bid at once; others join later. */
  maxBidders: number
  /** Awards per task at most (a re-award is epoch + 1); past it the task fails. */
  maxEpochs: number
  /** Times a poster re-posts a task someone deleted, before it fails with TaskDeletedError. */
  maxReposts: number
  /**
   * An executor must deliver its result within max(factor × its estimate, estimate + graceMs)
   * of the award, or the award lapses and the executor is suspected.
   */
  deliveryFactor: number
  deliveryGraceMs: number
}

export const defaultConfig: MarketConfig = {
  bidWindowMs: 300,
  leaseMs: 3_000,
  liveMs: 700,
  renewMs: 200,
  outputBatchMs: 100,
  maxQueue: 2,
  noBidTimeoutMs: 30_000,
  retainMs: 60_000,
  maxLifetimeMs: 60 * 60_000,
  expirySkewMs: 2 * 60_000,
  maxLog: 200,
  maxBidders: 16,
  maxEpochs: 8,
  maxReposts: 3,
  deliveryFactor: 4,
  deliveryGraceMs: 15_000,
}

export type TaskEvent =
  | { type: 'text'; text: string; epoch: number; executor: string }
  /** A new executor starts over: text shown so far for this task is void. */
  | { type: 'restart'; epoch: number; executor: string; reason: string }

export interface TaskResult {
  taskId: string
  text: string
  finish: 'stop' | 'length' | 'abort'
  executor: string
  epoch: number
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}

/** A posted task: its stream, its one final result, and a way to call it off. */
export interface TaskHandle {
  id: string
  chunks: AsyncIterable<TaskEvent>
  /** Resolves once with the accepted result; rejects with TaskFailedError, AbortError, or MarketClosedError (the market was destroyed first). */
  result: Promise<TaskResult>
  /** Ends the task cancelled; `reason` goes into its signed close (default: cancelled by its poster). */
  cancel(reason?: string): void
}

export type { Requirements }

/** How a task belongs to a job (fan-out, redundancy, a plan). */
export interface TaskLinks {
  /** Executors of the job's other tasks: avoided while another bid exists (each award adds its executor). */
  siblings?: Set<string>
  /**
   * Peers passed over like those that failed this task (only a wait with no other bidder brings
   * them back) while another capable peer is live, asked at each award: those that failed this
   * work in an earlier task, those busy with a sibling that should run elsewhere.
   */
  exclude?: () => Iterable<string>
  /**
   * Why a signed result cannot be the answer (an embedding task's vectors of the wrong count or
   * width); null: accept it. A refused result lapses its award like a failure and the executor is suspected.
   */
  check?: (text: string) => string | null
  /** Told of each award this node signs for the task (a re-award too): the executor and its epoch. */
  onAward?: (executor: string, epoch: number) => void
}

export interface MarketEvents {
  /** A task this node posted got its one accepted result. */
  done: TaskResult
  failed: { taskId: string; reason: string }
  /** The room's tasks or log changed: MarketNode.tasks() and loggedCount() read them anew. */
  change: undefined
  /** The contribution ledger changed (entries arrived, or the totals were counted anew): read MarketNode.contribution() again; a read has what arrived checked, and a second event follows once it is counted. */
  ledger: undefined
}

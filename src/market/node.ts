import * as v from 'valibot'
import * as Y from 'yjs'
import type { Engine } from '../inference/engine'
import type { ChatRequest } from '../inference/types'
import { ChatRequestSchema } from '../inference/types'
import { AsyncQueue } from '../shared/async-queue'
import { AbortError, ValidationError } from '../shared/errors'
import { Emitter, type Unsubscribe } from '../shared/events'
import { randomId } from '../shared/ids'
import type { Signer } from '../shared/sign'
import { taskViews, type TaskView } from './board'
import { SerialWork, TimerSet, type MarketContext } from './context'
import { MarketClosedError } from './errors'
import { defaultDeadlineMs } from './estimate'
import { ExpirySweeper, expiresAtFor } from './expiry'
import type { MarketEmbedder } from './embed-task'
import { Executor } from './executor'
import { fanOut, redundant, type FanOutOptions, type FanOutResult, type RedundantResult } from './jobs'
import { PostedTask, type Settle } from './poster'
import { RequirementsSchema, type Requirements, type Result } from './schema'
import { sign, Verdicts } from './signing'
import { Suspicion } from './suspicion'
import { createTask, TaskReader } from './task-doc'
import {
  defaultConfig,
  identitySpeed,
  type LivePeer,
  type MarketConfig,
  type MarketEvents,
  type SpeedModel,
  type TaskEvent,
  type TaskHandle,
  type TaskLinks,
  type TaskResult,
  type Timers,
} from './types'
import { Votes } from './votes'
import { Ledger, type Contribution } from './ledger'
import { unlimitedServe, type ServePolicy } from './serve'

export interface MarketNodeOptions {
  doc: Y.Doc
  signer: Signer
  /** The room's id (roomIdOf): bound into every record this node signs or accepts. */
  roomId: string
  /** This node's engine, or null for a node that only posts. */
  engine: Engine | null
  /** Peers the room's awareness sees now (this node may be left out). */
  livePeers: () => LivePeer[]
  clock?: () => number
  timers?: Timers
  config?: Partial<MarketConfig>
  /** Whether this tab is visible; hidden tabs bid slower estimates. */
  visible?: () => boolean
  /** Learns how long peers really take; bids and awards use it. Without it, estimates are taken as they are. */
  speed?: SpeedModel
  /**
   * After a restart, end the tasks this node had posted, cancelled with this reason, instead of
   * coordinating them again: for a poster whose callers did not survive it (the relay's /v1).
   */
  cancelResumed?: string
  /** What this node runs for other members (read at each bid); without it, it serves always, as it always did. */
  serve?: () => ServePolicy
  /** Whether this tab is busy with its own work: `serve: idle` bids only while it is not. */
  busy?: () => boolean
  /** The node's loaded embedding model (read at each bid): with one, the node's engine side also runs embedding tasks for it. */
  embedder?: () => MarketEmbedder | null
  /**
   * Where this node keeps its signature verdicts: its own by default (one node per tab). A
   * simulation may give all its nodes one, as a test of what sharing them in one process saves.
   */
  verdicts?: Verdicts
  /** Task ids; random unless a simulation needs them reproducible. */
  newId?: () => string
  onError?: (error: unknown) => void
}

/** Submit options for jobs (fan-out, redundancy, plans): how the task belongs to its job. */
export type SubmitOptions = TaskLinks

const maxKeptResults = 256

const realTimers: Timers = {
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, delayMs),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
}

/**
 * One node's part in the room's task market: posts tasks and coordinates them, and, with an
 * engine, bids on and runs the tasks of others. All state lives in the shared doc.
 */
export class MarketNode {
  readonly #ctx: MarketContext
  readonly #posted = new Map<string, PostedTask>()
  readonly #executor: Executor | null
  readonly #votes: Votes
  readonly #ledger: Ledger
  /** Signed results this node's tasks accepted, recent ones: a vote cites them as evidence. */
  readonly #results = new Map<string, Result>()
  readonly #newId: () => string
  readonly #observer: (events: Y.YEvent<Y.AbstractType<unknown>>[]) => void
  /** The last list of live peers, and that list with this node added (null: it holds this node). */
  #listed: { peers: readonly LivePeer[] | null; withSelf: LivePeer[] | null } = { peers: null, withSelf: null }
  readonly #logObserver: () => void
  /** Tasks submitted whose spec is still being signed: not posted yet, but owed an end all the same. */
  readonly #submitting = new Map<string, { stream: AsyncQueue<TaskEvent>; settle: Settle }>()
  /** Reads for display (tasks()), counted apart from what the market itself rejects. */
  readonly #displayReader = new TaskReader()
  readonly #cancelResumed: string | undefined
  readonly #sweeper: ExpirySweeper
  #destroyed = false

  constructor(options: MarketNodeOptions) {
    const report = options.onError ?? ((error: unknown) => console.error(error))
    const config = { ...defaultConfig, ...options.config }
    const clock = options.clock ?? Date.now
    this.#newId = options.newId ?? (() => randomId(16))
    this.#cancelResumed = options.cancelResumed
    const tasks = options.doc.getMap<unknown>('tasks')
    const verdicts = options.verdicts ?? new Verdicts()
    const room = { signer: options.signer, roomId: options.roomId, verdicts }
    this.#votes = new Votes(options.doc, room, clock, () => this.#ctx.work)
    this.#ledger = new Ledger(options.doc, room, clock, () => this.#ctx.work, report)
    this.#ctx = {
      doc: options.doc,
      tasks,
      signer: options.signer,
      roomId: options.roomId,
      room,
      verdicts,
      suspicion: new Suspicion(clock),
      config,
      clock,
      timers: new TimerSet(options.timers ?? realTimers, report),
      reader: new TaskReader(),
      work: new SerialWork(report),
      events: new Emitter<MarketEvents>(report),
      livePeers: () => this.#livePeers(options.livePeers),
      reputation: (nodeId) => this.#votes.reputation(nodeId),
      speed: options.speed ?? identitySpeed,
      taskFinished: (taskId) => this.#removeLater(taskId),
      accepted: (result, spec) => {
        this.#ledger.record(spec.request, result)
        this.#results.set(result.taskId, result)
        if (this.#results.size > maxKeptResults) this.#results.delete(this.#results.keys().next().value ?? '')
      },
      report,
    }
    this.#executor = options.engine
      ? new Executor(this.#ctx, options.engine, {
          visible: options.visible ?? (() => true),
          serve: options.serve ?? (() => unlimitedServe),
          busy: options.busy ?? (() => false),
          balance: (nodeId) => this.#ledger.balance(nodeId),
          embedder: options.embedder ?? (() => null),
        })
      : null
    this.#sweeper = new ExpirySweeper(this.#ctx)
    this.#observer = (events) => {
      try {
        this.#changed(events)
      } catch (error) {
        report(error)
      }
      this.#ctx.events.emit('change', undefined)
    }
    this.#logObserver = () => this.#ctx.events.emit('change', undefined)
    tasks.observeDeep(this.#observer)
    options.doc.getArray('log').observe(this.#logObserver)
    this.#votes.start()
    this.#ledger.start()
    this.#ledger.on('change', () => this.#ctx.events.emit('ledger', undefined))
    for (const taskId of [...tasks.keys()].sort()) this.#resume(taskId)
    for (const taskId of [...tasks.keys()].sort()) this.#executor?.onChange(taskId)
    this.#sweeper.changed([...tasks.keys()])
  }

  get nodeId(): string {
    return this.#ctx.signer.nodeId
  }

  /** Values from peers that failed their schema or size limit, dropped. */
  get rejected(): number {
    return this.#ctx.reader.rejected + this.#votes.rejected + this.#ledger.rejected
  }

  /** What a node served the room and consumed from it, as the signed ledger says (`ledger` events tell of changes). */
  contribution(nodeId: string): Contribution {
    return this.#ledger.contribution(nodeId)
  }

  /** Every node the ledger names, with its contribution. */
  ledgerTotals(): Map<string, Contribution> {
    return this.#ledger.totals()
  }

  /** Ledger entries dropped: not signed by the key they sit under, forged evidence, inflated tokens. */
  get rejectedReceipts(): number {
    return this.#ledger.rejected
  }

  /** Async jobs (signing, verifying) not finished yet; a simulation waits for 0. */
  get pendingWork(): number {
    return this.#ctx.work.pending
  }

  queueLength(): number {
    return this.#executor?.queueLength() ?? 0
  }

  reputation(nodeId: string): number {
    return this.#votes.reputation(nodeId)
  }

  /** Whether this node suspects a peer of claiming more than it delivers (it is passed over in awards). */
  suspected(nodeId: string): boolean {
    return this.#ctx.suspicion.suspected(nodeId)
  }

  /** Peers suspected now, most suspected first. */
  suspects(): { nodeId: string; score: number }[] {
    return this.#ctx.suspicion.suspects()
  }

  /** The serve terms changed, or the tab stopped being busy: the executor bids on what is still open. */
  reconsider(): void {
    this.#executor?.reconsider()
  }

  /** Awards this node refused to run: nobody asked it (it did not bid), or its queue was full. */
  get refusedAwards(): number {
    return (this.#executor?.unsolicited ?? 0) + (this.#executor?.overQueue ?? 0)
  }

  /** `change`: the room's tasks or log changed (tasks() and loggedCount() say how). Returns its unsubscribe. */
  on<K extends keyof MarketEvents>(event: K, listener: (payload: MarketEvents[K]) => void): Unsubscribe {
    return this.#ctx.events.on(event, listener)
  }

  /** Every task of the room, newest first, as its records say (unverified: for display). */
  tasks(): TaskView[] {
    return taskViews(this.#displayReader, this.#ctx.tasks)
  }

  /** Finished tasks kept in brief in the room's log. */
  loggedCount(): number {
    return this.#ctx.doc.getArray('log').length
  }

  /**
   * The live peers with this node among them (it may bid too). While presence hands out the
   * same list, the list with this node added is kept too, its last entry this node as it is now.
   */
  #livePeers(source: () => LivePeer[]): LivePeer[] {
    const peers = source()
    if (!this.#executor) return peers
    if (peers !== this.#listed.peers) {
      const listsSelf = peers.some((peer) => peer.nodeId === this.nodeId)
      this.#listed = { peers, withSelf: listsSelf ? null : [...peers, this.#executor.self()] }
    }
    const withSelf = this.#listed.withSelf
    if (withSelf === null) return peers
    withSelf[withSelf.length - 1] = this.#executor.self()
    return withSelf
  }

  #changed(events: Y.YEvent<Y.AbstractType<unknown>>[]): void {
    // Most deliveries change one field or bid of one task: one event, nothing to collect or sort.
    const only = events.length === 1 ? events[0] : undefined
    if (only !== undefined && only.target !== this.#ctx.tasks) {
      const taskId = only.path[0]
      if (typeof taskId === 'string') this.#taskChanged(taskId)
      return
    }
    const changed = new Set<string>()
    const keys: string[] = []
    for (const event of events) {
      if (event.target === this.#ctx.tasks) keys.push(...event.changes.keys.keys())
      else if (typeof event.path[0] === 'string') changed.add(event.path[0])
    }
    for (const key of keys) changed.add(key)
    if (keys.length > 0) this.#sweeper.changed(keys)
    for (const taskId of [...changed].sort()) this.#taskChanged(taskId)
  }

  #taskChanged(taskId: string): void {
    // A deleted task is the poster's to notice: it posts it again, or fails it.
    this.#posted.get(taskId)?.onChange()
    this.#executor?.onChange(taskId)
  }

  /** After a restart: coordinates again the tasks this node posted; clears its finished ones. */
  #resume(taskId: string): void {
    const { reader, tasks } = this.#ctx
    const task = reader.task(tasks, taskId)
    const spec = task && reader.spec(task, taskId)
    // Its own spec, byte for byte: a copy under this node's id written by someone else is not signed by it.
    if (!task || spec?.poster !== this.nodeId || spec.publicKey !== this.#ctx.signer.publicKey) return
    const posted = new PostedTask(this.#ctx, spec, task, null, null)
    this.#posted.set(taskId, posted)
    posted.start(true, this.#cancelResumed)
  }

  #removeLater(taskId: string): void {
    this.#ctx.timers.after(this.#ctx.config.retainMs, () => {
      this.#posted.delete(taskId)
      this.#ctx.tasks.delete(taskId)
    })
  }

  /** Posts a chat request as a task; the best-placed peer (maybe this node) runs it. */
  submit(request: ChatRequest, requirements: Requirements = {}, options: SubmitOptions = {}): TaskHandle {
    const checkedRequest = parse(ChatRequestSchema, request)
    const checkedRequirements = parse(RequirementsSchema, requirements)
    const id = this.#newId()
    const stream = new AsyncQueue<TaskEvent>()
    let settle: Settle = { resolve: () => undefined, reject: () => undefined }
    const result = new Promise<TaskResult>((resolve, reject) => (settle = { resolve, reject }))
    result.catch(() => undefined)
    const { signer, clock, config } = this.#ctx
    const handle: TaskHandle = { id, chunks: stream, result, cancel: (reason) => this.#cancel(id, reason) }
    if (this.#destroyed) {
      const error = new MarketClosedError('the market is closed')
      settle.reject(error)
      stream.fail(error)
      return handle
    }
    this.#submitting.set(id, { stream, settle })
    const createdAt = clock()
    const expiresAt = expiresAtFor(createdAt, checkedRequirements.deadlineMs ?? defaultDeadlineMs(checkedRequest), config)
    const unsigned = { v: 3 as const, taskId: id, request: checkedRequest, requirements: checkedRequirements, poster: signer.nodeId, publicKey: signer.publicKey, createdAt, expiresAt }
    this.#ctx.work.run(async () => {
      const spec = await sign('spec', unsigned, this.#ctx.room).catch((error: unknown) => {
        this.#endSubmission(id, error instanceof Error ? error : new Error(String(error)))
        throw error
      })
      // Cancelled, or the market closed, while the spec was being signed: it already ended.
      if (!this.#submitting.delete(id)) return
      const posted = new PostedTask(this.#ctx, spec, createTask(this.#ctx.tasks, spec), stream, settle, options)
      this.#posted.set(id, posted)
      posted.start(false)
    })
    return handle
  }

  #cancel(taskId: string, reason?: string): void {
    const posted = this.#posted.get(taskId)
    if (posted) posted.cancel(reason)
    else this.#endSubmission(taskId, new AbortError(`task ${taskId} cancelled`))
  }

  /** Ends a task submitted but not posted yet. */
  #endSubmission(taskId: string, error: Error): void {
    const submitting = this.#submitting.get(taskId)
    if (!submitting) return
    this.#submitting.delete(taskId)
    submitting.settle.reject(error)
    submitting.stream.fail(error)
  }

  /**
   * Records a redundant job's vote in the doc, where it lowers the losers' reputation. The
   * vote carries the signed results of `answers` as evidence: it counts only for executors
   * that really answered this node's tasks.
   */
  recordVote(jobId: string, answers: readonly TaskResult[], winners: string[], outvoted: string[]): void {
    const results = answers.flatMap((answer) => {
      const result = this.#results.get(answer.taskId)
      return result ? [result] : []
    })
    this.#votes.record(jobId, results, winners, outvoted)
  }

  /** Maps a long text over peers in chunks, then reduces the answers in one more task. */
  fanOut(text: string, options: FanOutOptions): Promise<FanOutResult> {
    return fanOut(this, text, options)
  }

  /** Runs a request on k peers and votes; outvoted peers lose reputation. */
  redundant(request: ChatRequest, k: number, requirements?: Requirements): Promise<RedundantResult> {
    return redundant(this, request, k, requirements)
  }

  newId(): string {
    return this.#newId()
  }

  /**
   * Settles everything this node owns: every task it submitted or coordinates that has not
   * ended rejects its result and fails its stream with MarketClosedError; executor runs are
   * aborted, timers cleared, observers and listeners removed. The doc is left as it is (a
   * crash or a closed tab): restarted on the same doc, this node takes its tasks up again.
   */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#ctx.tasks.unobserveDeep(this.#observer)
    this.#ctx.doc.getArray('log').unobserve(this.#logObserver)
    this.#votes.stop()
    this.#ledger.stop()
    this.#sweeper.stop()
    this.#ctx.timers.stop()
    this.#ctx.work.stop()
    this.#executor?.stop()
    for (const taskId of [...this.#submitting.keys()]) this.#endSubmission(taskId, new MarketClosedError(`task ${taskId}: the market is closed`))
    for (const posted of this.#posted.values()) posted.close()
    this.#posted.clear()
    this.#ctx.events.clear()
  }
}

function parse<S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, value)
  if (!parsed.success) throw new ValidationError(parsed.issues.map((issue) => issue.message).join('; '))
  return parsed.output
}

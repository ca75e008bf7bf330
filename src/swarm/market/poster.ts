import type * as Y from 'yjs'
import { AsyncQueue } from '../../shared/async-queue'
import { AbortError } from '../../shared/errors'
import { acceptsWrite, chooseWinner, leaseLapsed } from './award'
import type { MarketContext } from './context'
import { TaskFailedError } from './errors'
import type { Award, Bid, LogEntry, Result, Spec, TaskStatus } from './schema'
import { capableOf, speedQueryOf } from './estimate'
import { sign, verify } from './signing'
import { observeSpeed, predictedMs, type SpeedBasis } from './speed'
import { appendLog } from './task-doc'
import type { TaskEvent, TaskResult } from './types'

export type Settle = { resolve: (result: TaskResult) => void; reject: (error: Error) => void }

/**
 * The poster's side of one task: collects verified bids, awards, watches the lease, re-awards
 * with epoch + 1, streams the current epoch's output, and accepts exactly one signed result.
 */
export class PostedTask {
  readonly id: string
  #epoch = 0
  #executor: string | null = null
  #ownAward: Award | null = null
  #restoring = false
  #awarding = false
  #windowOver = false
  #finished = false
  #needsAwardSince: number
  #lastRenewalSeenAt = 0
  #lastLease: unknown = null
  #restartReason = ''
  /** What the current award's winner was scored from, and when the award went out: the speed model learns from them. */
  #awardBasis: SpeedBasis | null = null
  #awardedAt = 0
  readonly #excluded = new Set<string>()
  readonly #bids = new Map<string, Bid>()
  readonly #seenBids = new WeakSet<object>()
  readonly #seenResults = new WeakSet<object>()
  #pendingChecks = 0
  #outputCursor = 0
  #nextSeq = 0
  readonly #pendingBatches = new Map<number, string>()
  #streamed = ''
  readonly #stopTimers: (() => void)[] = []

  constructor(
    private readonly ctx: MarketContext,
    readonly spec: Spec,
    private readonly task: Y.Map<unknown>,
    private readonly stream: AsyncQueue<TaskEvent> | null,
    private readonly settle: Settle | null,
    /** Executors of the other tasks of a redundant job: avoided when another bid exists. */
    private readonly siblings: Set<string> | null = null,
  ) {
    this.id = spec.taskId
    this.#needsAwardSince = ctx.clock()
  }

  get finished(): boolean {
    return this.#finished
  }

  /** Starts coordinating: a new task, or one found in the doc after this node restarted. */
  start(resumed: boolean): void {
    const { config, timers } = this.ctx
    if (resumed) this.#restore()
    else this.#stopTimers.push(timers.after(config.bidWindowMs, () => ((this.#windowOver = true), this.#maybeAward())))
    const tickMs = Math.max(20, Math.min(config.bidWindowMs, config.leaseMs / 3))
    const tick = () => {
      this.#tick()
      if (!this.#finished) this.#stopTimers.push(timers.after(tickMs, tick))
    }
    this.#stopTimers.push(timers.after(tickMs, tick))
    this.onChange()
  }

  #restore(): void {
    this.#windowOver = true
    this.#lastRenewalSeenAt = this.ctx.clock()
    const award = this.ctx.reader.award(this.task, this.id)
    if (!award) return
    this.#restoring = true
    this.ctx.work.run(async () => {
      if (await verify('award', award, this.spec.publicKey, this.spec.poster)) {
        this.#ownAward = award
        this.#epoch = award.epoch
        this.#executor = award.executor
      }
      this.#restoring = false
      this.onChange()
    })
  }

  onChange(): void {
    if (this.#finished || this.#restoring) return
    const { reader, work } = this.ctx
    for (const bid of reader.bids(this.task, this.id)) {
      if (this.#seenBids.has(bid)) continue
      this.#seenBids.add(bid)
      this.#pendingChecks++
      work.run(async () => {
        const ok = await verify('bid', bid, bid.publicKey, bid.bidder)
        this.#pendingChecks--
        if (ok) this.#bids.set(bid.bidder, bid)
        this.#maybeAward()
      })
    }
    const award = this.task.get('award')
    if (this.#ownAward && award !== this.#ownAward && (award as Award | undefined)?.sig !== this.#ownAward.sig) this.task.set('award', this.#ownAward)
    const current = this.#executor === null ? null : { epoch: this.#epoch, executor: this.#executor }
    const lease = reader.lease(this.task)
    if (lease && lease !== this.#lastLease && acceptsWrite(current, lease)) {
      this.#lastLease = lease
      this.#lastRenewalSeenAt = this.ctx.clock()
      if (reader.status(this.task) === 'awarded') this.task.set('status', 'running')
    }
    if (current) this.#readOutput()
    const result = reader.result(this.task, this.id)
    if (result && !this.#seenResults.has(result) && acceptsWrite(current, result)) {
      this.#seenResults.add(result)
      work.run(async () => {
        if (!(await verify('result', result, result.publicKey, result.executor))) return
        if (!this.#finished && acceptsWrite({ epoch: this.#epoch, executor: this.#executor ?? '' }, result)) this.#accept(result)
      })
    }
  }

  #readOutput(): void {
    const { batches, next } = this.ctx.reader.batches(this.task, this.#outputCursor)
    this.#outputCursor = next
    for (const batch of batches) if (batch.epoch === this.#epoch) this.#pendingBatches.set(batch.seq, batch.text)
    let text = this.#pendingBatches.get(this.#nextSeq)
    while (text !== undefined) {
      this.#pendingBatches.delete(this.#nextSeq++)
      this.#emitText(text)
      text = this.#pendingBatches.get(this.#nextSeq)
    }
  }

  #emitText(text: string): void {
    if (!text || this.#executor === null) return
    this.#streamed += text
    this.stream?.push({ type: 'text', text, epoch: this.#epoch, executor: this.#executor })
  }

  #tick(): void {
    if (this.#finished || this.#restoring) return
    const now = this.ctx.clock()
    const deadlineMs = this.spec.requirements.deadlineMs
    if (deadlineMs !== undefined && now - this.spec.createdAt > deadlineMs) return this.fail(`deadline of ${deadlineMs} ms passed`)
    if (this.#executor !== null && !this.#awarding) {
      if (leaseLapsed(this.#lastRenewalSeenAt, this.ctx.config.leaseMs, now)) this.#lapse('lease lapsed')
      else if (!this.ctx.livePeers().some((peer) => peer.nodeId === this.#executor)) this.#lapse('executor left')
    }
    if (this.#executor === null && !this.#awarding) {
      const timeoutMs = this.ctx.config.noBidTimeoutMs
      if (now - this.#needsAwardSince > timeoutMs) return this.fail(`no capable peer bid within ${timeoutMs} ms`)
      this.#maybeAward()
    }
  }

  #lapse(reason: string): void {
    if (this.#executor !== null) this.#excluded.add(this.#executor)
    this.#executor = null
    this.#awardBasis = null
    this.#restartReason = reason
    this.#needsAwardSince = this.ctx.clock()
    this.task.set('status', 'open')
  }

  #allCapableBid(): boolean {
    const capable = this.ctx.livePeers().filter((peer) => capableOf(peer.engine, this.spec))
    return capable.length > 0 && capable.every((peer) => this.#bids.has(peer.nodeId))
  }

  #maybeAward(): void {
    if (this.#finished || this.#restoring || this.#awarding || this.#executor !== null || this.#pendingChecks > 0) return
    if (!this.#windowOver && !this.#allCapableBid()) return
    const live = new Set(this.ctx.livePeers().map((peer) => peer.nodeId))
    const candidates = [...this.#bids.values()].filter((bid) => live.has(bid.bidder))
    const avoid = new Set([...this.#excluded, ...(this.siblings ?? [])])
    const reputation = (nodeId: string) => this.ctx.reputation(nodeId)
    const scored = this.#scoreBids(candidates)
    const estimateOf = (bid: Bid) => scored.get(bid.bidder)?.estimateMs ?? bid.estimateMs
    const winner =
      chooseWinner(candidates, avoid, reputation, estimateOf) ??
      chooseWinner(candidates, this.#excluded, reputation, estimateOf) ??
      chooseWinner(candidates, new Set(), reputation, estimateOf)
    if (!winner) return
    const basis = scored.get(winner.bidder)?.basis ?? null
    this.#awarding = true
    this.siblings?.add(winner.bidder)
    const epoch = this.#epoch + 1
    this.ctx.work.run(async () => {
      const award = await sign('award', { taskId: this.id, epoch, executor: winner.bidder, at: this.ctx.clock() }, this.ctx.signer)
      this.#awarding = false
      if (this.#finished) return
      this.#ownAward = award
      this.#epoch = epoch
      this.#executor = winner.bidder
      this.#lastRenewalSeenAt = this.ctx.clock()
      this.#awardBasis = basis
      this.#awardedAt = this.ctx.clock()
      this.#nextSeq = 0
      this.#pendingBatches.clear()
      this.ctx.doc.transact(() => {
        this.task.set('award', award)
        this.task.set('status', 'awarded')
      })
      if (epoch > 1) {
        this.#streamed = ''
        this.stream?.push({ type: 'restart', epoch, executor: winner.bidder, reason: this.#restartReason })
      }
    })
  }

  /**
   * Each bid's estimate as the speed model corrects it, from the bidder's presence as this
   * node sees it now. The bidder's own claim is the base: the model learns how far each peer's
   * claims hold. This node's own bid is left as it is (its executor half already corrected it
   * and learns from its own runs); so is a bid from a peer with no presence.
   */
  #scoreBids(bids: readonly Bid[]): Map<string, { estimateMs: number; basis: SpeedBasis }> {
    const scored = new Map<string, { estimateMs: number; basis: SpeedBasis }>()
    const peers = new Map(this.ctx.livePeers().map((peer) => [peer.nodeId, peer]))
    for (const bid of bids) {
      const peer = peers.get(bid.bidder)
      const query = peer && bid.bidder !== this.ctx.signer.nodeId ? speedQueryOf(peer, this.spec.request) : null
      if (!query) continue
      const basis = { query, baseMs: bid.estimateMs }
      scored.set(bid.bidder, { estimateMs: predictedMs(this.ctx, bid.bidder, basis), basis })
    }
    return scored
  }

  #accept(result: Result): void {
    // A result from an aborted engine says nothing about how fast the peer answers.
    if (this.#awardBasis && result.finish !== 'abort') observeSpeed(this.ctx, result.executor, this.#awardBasis, this.ctx.clock() - this.#awardedAt)
    if (result.text.startsWith(this.#streamed)) this.#emitText(result.text.slice(this.#streamed.length))
    const accepted: TaskResult = { taskId: this.id, text: result.text, finish: result.finish, executor: result.executor, epoch: result.epoch }
    if (result.usage) accepted.usage = result.usage
    this.#finish('done', result.text.length, '')
    this.settle?.resolve(accepted)
    this.stream?.end()
    this.ctx.events.emit('done', accepted)
  }

  fail(reason: string): void {
    if (this.#finished) return
    this.#finish('failed', 0, reason)
    const error = new TaskFailedError(`task ${this.id} failed: ${reason}`)
    this.settle?.reject(error)
    this.stream?.fail(error)
    this.ctx.events.emit('failed', { taskId: this.id, reason })
  }

  cancel(): void {
    if (this.#finished) return
    this.#finish('cancelled', 0, 'cancelled by its poster')
    this.ctx.work.run(async () => {
      this.task.set('cancel', await sign('cancel', { taskId: this.id, at: this.ctx.clock() }, this.ctx.signer))
    })
    const error = new AbortError(`task ${this.id} cancelled`)
    this.settle?.reject(error)
    this.stream?.fail(error)
  }

  #finish(status: TaskStatus & LogEntry['status'], chars: number, reason: string): void {
    this.#finished = true
    for (const stop of this.#stopTimers) stop()
    const entry: LogEntry = {
      taskId: this.id,
      poster: this.spec.poster,
      executor: this.#executor,
      epoch: this.#epoch,
      status,
      chars,
      createdAt: this.spec.createdAt,
      finishedAt: this.ctx.clock(),
    }
    this.ctx.doc.transact(() => {
      this.task.set('status', status)
      if (reason) this.task.set('reason', reason.slice(0, 500))
      appendLog(this.ctx.doc, entry, this.ctx.config.maxLog)
    })
    this.ctx.taskFinished(this.id)
  }
}

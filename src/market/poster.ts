import * as Y from 'yjs'
import { AsyncQueue } from '../shared/async-queue'
import { AbortError } from '../shared/errors'
import { leaseLapsed, liveWindowMs, PeerRhythm } from './award'
import { awardsEarly, chooseAward, deliveryBudgetMs, fallbackWaitMs } from './award-choice'
import { bidRatiosOf } from './bid-ratios'
import type { MarketContext } from './context'
import { endPhases, nextPhases, type PosterPhase } from './poster-phase'
import { MarketClosedError, TaskDeletedError, TaskFailedError } from './errors'
import { bidFloorMs, capableOf, defaultDeadlineMs, estimateTaskMs } from './estimate'
import { servesPeers } from './serve'
import { deadlineAtOf } from './expiry'
import type { Award, Batch, Bid, Close, LogEntry, Result, Spec } from './schema'
import { sign, verify, verifyResult } from './signing'
import { observeSpeed, type SpeedBasis } from './speed'
import { appendLog, createTask } from './task-doc'
import type { TaskEvent, TaskLinks, TaskResult } from './types'

export type Settle = { resolve: (result: TaskResult) => void; reject: (error: Error) => void }

/**
 * How much a miss adds to a peer's suspicion (suspected from 1, halving every few minutes): a bid
 * under the floor is a plain lie and an undelivered promise nearly one; one lapsed lease (a
 * partition, a closed laptop) is not enough, two soon after each other are.
 */
const suspicionOf = { underFloor: 3, undelivered: 1.5, lapsed: 1, failed: 0.5 } as const

/** What each node's posters learned of executors' rhythm (one per node, by its context). */
const rhythms = new WeakMap<MarketContext, PeerRhythm>()
const rhythmOf = (ctx: MarketContext): PeerRhythm => {
  let rhythm = rhythms.get(ctx)
  if (!rhythm) rhythms.set(ctx, (rhythm = new PeerRhythm()))
  return rhythm
}

/** One field for the state: the award in force exists in the running phase, and only there. */
type PosterState = { phase: 'running'; current: Current } | { phase: Exclude<PosterPhase, 'running'> }

/** The award in force and what the poster expects of it. */
interface Current {
  award: Award
  /**
   * When this node read the last verified sign of life of the executor, a renewal or a fresh
   * output batch (its own clock: skew does not matter; read time, so a busy verification queue
   * here does not count against the executor).
   */
  renewedAt: number
  /** Whether a sign of life came since the award (the first gap is the award's way there, not the executor's rhythm). */
  heard: boolean
  /** The longest gap between two signs of life in this award, less this node's own stalls: liveWindowMs follows it. */
  maxGapMs: number
  /** How long this node's ticks came late since the last sign of life: its own stall is not the executor's silence. */
  stalledMs: number
  /** How long the task should take on this executor (the award's estimate; Infinity after a restart of this node). */
  expectedMs: number
  /** The result must be in by then, or the executor claimed more than it delivers. */
  deliverBy: number
  awardedAt: number
  /** The latest `until` of a verified renewal: an older signed lease put back is a replay. */
  leaseUntil: number
  /** What the winner was scored from: the speed model learns from it. */
  basis: SpeedBasis | null
}

/**
 * The poster's side of one task: collects verified bids, awards, watches the signed lease and
 * the delivery time, re-awards with epoch + 1, streams the current executor's signed output,
 * and accepts exactly one result signed by the awarded executor. It puts back what others
 * overwrite (spec, award, close) and re-posts the task if someone deletes it.
 */
export class PostedTask {
  readonly id: string
  #state: PosterState = { phase: 'bidding' }
  #task: Y.Map<unknown>
  #epoch = 0
  #ownAward: Award | null = null
  #ownClose: Close | null = null
  /**
   * The bid window's clock, not a phase: an award can come before it is over (every capable
   * peer bid) and a lapse can bring the task back to bidding while it is still open.
   */
  #windowOver = false
  #needsAwardSince: number
  #restartReason = ''
  #reposts = 0
  readonly #deadlineAt: number
  readonly #floorMs: number
  readonly #excluded = new Set<string>()
  readonly #bids = new Map<string, Bid>()
  readonly #seen = new WeakSet<object>()
  #pendingChecks = 0
  #output: unknown = null
  #outputCursor = 0
  #nextSeq = 0
  readonly #pendingBatches = new Map<number, string>()
  #streamed = ''
  readonly #stopTimers: (() => void)[] = []
  #tickMs = 0
  #lastTickAt = 0

  constructor(
    private readonly ctx: MarketContext,
    readonly spec: Spec,
    task: Y.Map<unknown>,
    private readonly stream: AsyncQueue<TaskEvent> | null,
    private readonly settle: Settle | null,
    /** How this task belongs to a job: its siblings, the peers it avoids, who hears its awards. */
    private readonly links: TaskLinks = {},
  ) {
    this.id = spec.taskId
    this.#task = task
    this.#needsAwardSince = ctx.clock()
    this.#deadlineAt = deadlineAtOf(spec, spec.requirements.deadlineMs ?? defaultDeadlineMs(spec.request), ctx.config)
    this.#floorMs = bidFloorMs(spec.request)
  }

  get phase(): PosterPhase {
    return this.#state.phase
  }

  /** Whether the task reached its end here (or this node stopped coordinating it). */
  get finished(): boolean {
    return endPhases.has(this.#state.phase)
  }

  /** The award in force: only while running. */
  get #current(): Current | null {
    return this.#state.phase === 'running' ? this.#state.current : null
  }

  /** The one place the phase changes; an end stops this task's timers. */
  #enter(state: PosterState): void {
    const from = this.#state.phase
    if (!nextPhases[from].includes(state.phase)) {
      this.ctx.report(new Error(`task ${this.id}: no way from ${from} to ${state.phase}`))
      return
    }
    this.#state = state
    if (endPhases.has(state.phase)) for (const stop of this.#stopTimers.splice(0)) stop()
  }

  /**
   * Starts coordinating: a new task, or one found in the doc after this node restarted. With
   * `orphanReason`, a resumed task nobody waits for any more ends cancelled with that reason
   * once its award is restored (unless it had already ended).
   */
  start(resumed: boolean, orphanReason?: string): void {
    const { config, timers } = this.ctx
    // The first phase, set once (every later change goes through #enter).
    this.#state = { phase: resumed ? 'restoring' : 'bidding' }
    if (resumed) this.#restore(orphanReason)
    else this.#openBidWindow()
    const tickMs = Math.max(20, Math.min(config.bidWindowMs, config.leaseMs / 3, config.liveMs / 7))
    this.#tickMs = tickMs
    this.#lastTickAt = this.ctx.clock()
    const tick = () => {
      this.#tick()
      if (!this.finished) this.#stopTimers.push(timers.after(tickMs, tick))
    }
    this.#stopTimers.push(timers.after(tickMs, tick))
    this.onChange()
  }

  #openBidWindow(): void {
    this.#windowOver = false
    this.#stopTimers.push(this.ctx.timers.after(this.ctx.config.bidWindowMs, () => ((this.#windowOver = true), this.#maybeAward())))
  }

  #restore(orphanReason: string | undefined): void {
    this.#windowOver = true
    const { reader, work, roomId } = this.ctx
    const award = reader.award(this.#task, this.id)
    const close = reader.close(this.#task, this.id)
    work.run(async () => {
      if (close && (await verify('close', close, this.spec.publicKey, this.spec.poster, roomId, this.ctx.verdicts))) {
        if (this.#state.phase !== 'restoring') return
        this.#ownClose = close
        this.#enter({ phase: close.status })
        this.ctx.taskFinished(this.id)
        return
      }
      const lapse = reader.lapse(this.#task, this.id)
      let current: Current | null = null
      if (award && (await verify('award', award, this.spec.publicKey, this.spec.poster, roomId, this.ctx.verdicts))) {
        this.#ownAward = award
        this.#epoch = award.epoch
        const lapsed = lapse && lapse.epoch >= award.epoch && (await verify('lapse', lapse, this.spec.publicKey, this.spec.poster, roomId, this.ctx.verdicts))
        if (!lapsed)
          current = {
            award,
            renewedAt: this.ctx.clock(),
            heard: false,
            maxGapMs: 0,
            stalledMs: 0,
            expectedMs: Infinity,
            deliverBy: this.ctx.clock() + deliveryBudgetMs(this.ctx.config, 0),
            awardedAt: this.ctx.clock(),
            leaseUntil: 0,
            basis: null,
          }
      }
      if (this.#state.phase !== 'restoring') return
      if (orphanReason !== undefined) return this.cancel(orphanReason)
      this.#enter(current ? { phase: 'running', current } : { phase: 'bidding' })
      this.onChange()
    })
  }

  onChange(): void {
    if (this.#state.phase === 'closed') return
    if (this.finished) return this.#guardClose()
    if (this.#state.phase === 'restoring') return
    if (this.ctx.tasks.get(this.id) !== this.#task) return this.#repost()
    this.#guardShape()
    this.#readBids()
    const award = this.#task.get('award')
    if (this.#ownAward && (award as Award | undefined)?.sig !== this.#ownAward.sig) this.#task.set('award', this.#ownAward)
    if (!this.#current) return
    this.#readLease(this.#current)
    this.#readOutput(this.#current)
    this.#readFailure(this.#current)
    this.#readResult(this.#current)
  }

  /** Puts back the spec and the task's bids map and output array when someone replaced them. */
  #guardShape(): void {
    const task = this.#task
    if (task.get('spec') !== this.spec) task.set('spec', this.spec)
    if (!(task.get('bids') instanceof Y.Map)) task.set('bids', new Y.Map())
    let output = task.get('output')
    if (!(output instanceof Y.Array)) task.set('output', (output = new Y.Array()))
    if (output !== this.#output) {
      this.#output = output
      this.#outputCursor = 0
    }
  }

  #readBids(): void {
    const { reader, work, roomId } = this.ctx
    for (const bid of reader.bids(this.#task, this.id)) {
      if (this.#seen.has(bid)) continue
      this.#seen.add(bid)
      this.#pendingChecks++
      work.run(async () => {
        const ok = await verify('bid', bid, bid.publicKey, bid.bidder, roomId, this.ctx.verdicts)
        this.#pendingChecks--
        if (ok && bid.estimateMs < this.#floorMs) {
          // Faster than any machine runs: a lie meant to win every award.
          this.ctx.suspicion.add(bid.bidder, suspicionOf.underFloor)
          this.ctx.reader.rejected++
        } else if (ok) {
          this.#bids.set(bid.bidder, bid)
          this.#learnBid(bid)
        }
        this.#maybeAward()
      })
    }
  }

  /** How far this verified bid fell from what its bidder's presence says: how far the early award trusts presence next time. */
  #learnBid(bid: Bid): void {
    const peer = this.ctx.livePeers().find((live) => live.nodeId === bid.bidder)
    const presenceMs = peer ? estimateTaskMs(peer, this.spec, this.ctx.config.maxQueue) : null
    if (presenceMs !== null) bidRatiosOf(this.ctx).observe(bid.bidder, presenceMs, bid.estimateMs)
  }

  /**
   * A verified value of the current award's executor and epoch, checked once per stored object.
   * `inOrder: false` for values whose use does not depend on the order of the checks.
   */
  #checkOnce<T extends object>(value: T | null, current: Current, check: (value: T) => Promise<boolean>, use: (value: T) => void, inOrder = true): void {
    if (!value || this.#seen.has(value)) return
    this.#seen.add(value)
    const job = async () => {
      if (!(await check(value)) || this.#current !== current) return
      use(value)
    }
    if (inOrder) this.ctx.work.run(job)
    else this.ctx.work.parallel(job)
  }

  #readLease(current: Current): void {
    const { award } = current
    const lease = this.ctx.reader.lease(this.#task, this.id)
    if (!lease || lease.epoch !== award.epoch || lease.executor !== award.executor) return
    const readAt = this.ctx.clock()
    this.#checkOnce(
      lease,
      current,
      (l) => verify('lease', l, award.executorKey, award.executor, this.ctx.roomId, this.ctx.verdicts),
      (l) => {
        if (l.until <= current.leaseUntil) return
        current.leaseUntil = l.until
        this.#alive(current, readAt)
      },
      false,
    )
  }

  /**
   * A verified sign of life of the current executor read at `readAt`: a renewal newer than any
   * before, or an output batch of its epoch not seen before. A replayed lease or batch is neither.
   */
  #alive(current: Current, readAt: number): void {
    if (readAt <= current.renewedAt) return
    if (current.heard) {
      const gapMs = readAt - current.renewedAt - current.stalledMs
      current.maxGapMs = Math.max(current.maxGapMs, gapMs)
      rhythmOf(this.ctx).observe(current.award.executor, gapMs, readAt)
    }
    current.heard = true
    current.renewedAt = readAt
    current.stalledMs = 0
  }

  #readOutput(current: Current): void {
    const { award } = current
    const { batches, next } = this.ctx.reader.batches(this.#task, this.#outputCursor)
    this.#outputCursor = next
    const readAt = this.ctx.clock()
    for (const batch of batches) {
      if (batch.epoch !== award.epoch) continue
      this.#checkOnce(
        batch,
        current,
        (b: Batch) => verify('batch', { ...b, taskId: this.id }, award.executorKey, award.executor, this.ctx.roomId, this.ctx.verdicts),
        (b) => {
          // Only a batch not seen before is progress (a replay of an old one is not).
          if (b.seq >= this.#nextSeq && !this.#pendingBatches.has(b.seq)) {
            this.#pendingBatches.set(b.seq, b.text)
            this.#alive(current, readAt)
          }
          this.#drainOutput()
        },
        false,
      )
    }
  }

  #drainOutput(): void {
    let text = this.#pendingBatches.get(this.#nextSeq)
    while (text !== undefined) {
      this.#pendingBatches.delete(this.#nextSeq++)
      this.#emitText(text)
      text = this.#pendingBatches.get(this.#nextSeq)
    }
  }

  #emitText(text: string): void {
    if (!text || !this.#current) return
    this.#streamed += text
    this.stream?.push({ type: 'text', text, epoch: this.#current.award.epoch, executor: this.#current.award.executor })
  }

  #readFailure(current: Current): void {
    const { award } = current
    const failure = this.ctx.reader.failure(this.#task, this.id)
    if (!failure || failure.epoch !== award.epoch || failure.executor !== award.executor) return
    this.#checkOnce(
      failure,
      current,
      (f) => verify('failure', f, award.executorKey, award.executor, this.ctx.roomId, this.ctx.verdicts),
      (f) => {
        this.#lapse(`executor failed: ${f.reason}`, suspicionOf.failed)
      },
    )
  }

  #readResult(current: Current): void {
    const { award } = current
    const result = this.ctx.reader.result(this.#task, this.id)
    if (!result || result.epoch !== award.epoch || result.executor !== award.executor || result.publicKey !== award.executorKey || result.poster !== this.spec.poster) return
    this.#checkOnce(
      result,
      current,
      (r) => verifyResult(r, this.ctx.roomId, this.ctx.verdicts),
      (r) => {
        const problem = this.links.check?.(r.text) ?? null
        if (problem === null) this.#accept(r, current)
        else this.#lapse(`result refused: ${problem}`, suspicionOf.failed)
      },
    )
  }

  #tick(): void {
    if (this.finished || this.#state.phase === 'restoring') return
    const now = this.ctx.clock()
    // A tick that came late is this node's own stall (a busy page, a loaded machine): the signs of
    // life that came meanwhile may not be read yet, so that time is not the executor's silence.
    const lateMs = Math.max(0, now - this.#lastTickAt - this.#tickMs)
    this.#lastTickAt = now
    if (now > this.#deadlineAt) return this.fail(`deadline of ${this.#deadlineAt - this.spec.createdAt} ms passed`)
    const current = this.#current
    if (current) {
      current.stalledMs += lateMs
      const executor = this.ctx.livePeers().find((peer) => peer.nodeId === current.award.executor)
      // Until its first sign of life the silence is the award's way to the executor and back, not its rhythm: the full lease.
      const maxGapMs = Math.max(current.maxGapMs, rhythmOf(this.ctx).gapMs(current.award.executor, now))
      const windowMs = current.heard ? liveWindowMs(this.ctx.config, { visible: executor?.visible ?? false, maxGapMs, expectedMs: current.expectedMs }) : this.ctx.config.leaseMs
      // The stall credit stops at leaseMs in all: a hidden poster, all of whose ticks are late, still lapses a dead lease.
      const creditMs = Math.min(current.stalledMs, this.ctx.config.leaseMs - windowMs)
      if (leaseLapsed(current.renewedAt + creditMs, windowMs, now)) this.#lapse('lease lapsed', suspicionOf.lapsed)
      else if (now > current.deliverBy) this.#lapse('no answer in the time it promised', suspicionOf.undelivered)
      else if (!executor) this.#lapse('executor left', 0)
    }
    if (this.#state.phase === 'bidding') {
      const timeoutMs = this.ctx.config.noBidTimeoutMs
      if (now - this.#needsAwardSince > timeoutMs) return this.fail(`no capable peer bid within ${timeoutMs} ms`)
      this.#maybeAward()
    }
  }

  /** The current award is over: its executor is told to stop (signed lapse), bids are welcome again. */
  #lapse(reason: string, suspicion: number): void {
    const current = this.#current
    if (!current) return
    const { executor, epoch } = current.award
    if (suspicion > 0) this.ctx.suspicion.add(executor, suspicion)
    this.#excluded.add(executor)
    this.#enter({ phase: 'bidding' })
    this.#restartReason = reason
    this.#needsAwardSince = this.ctx.clock()
    if (epoch >= this.ctx.config.maxEpochs) return this.fail(`no executor delivered in ${epoch} awards (last: ${reason})`)
    this.ctx.work.run(async () => {
      const lapse = await sign('lapse', { taskId: this.id, epoch, reason: reason.slice(0, 500), at: this.ctx.clock() }, this.ctx.room)
      if (!this.finished) this.#task.set('lapse', lapse)
    })
  }

  /** Peers that failed this task, and those the job asks it to pass over now while another capable peer is live. */
  #avoided(): ReadonlySet<string> {
    const more = this.links.exclude?.()
    if (!more) return this.#excluded
    const avoided = new Set([...this.#excluded, ...more])
    const another = this.ctx.livePeers().some((peer) => !avoided.has(peer.nodeId) && capableOf(peer, this.spec) && servesPeers(peer))
    return another ? avoided : this.#excluded
  }

  #allCapableBid(): boolean {
    const capable = this.ctx.livePeers().filter((peer) => capableOf(peer, this.spec) && servesPeers(peer))
    return capable.length > 0 && capable.every((peer) => this.#bids.has(peer.nodeId))
  }

  /**
   * Awards once the window is over, every live capable peer bid, or the best bid in hand is one
   * that no missing peer could plausibly beat by more than a small margin (awardsEarly).
   */
  #maybeAward(): void {
    if (this.#state.phase !== 'bidding' || this.#pendingChecks > 0 || this.#bids.size === 0) return
    const fallbackReady = this.ctx.clock() - this.#needsAwardSince >= fallbackWaitMs(this.ctx.config)
    const avoid = { excluded: this.#avoided(), siblings: this.links.siblings ?? null, fallbackReady }
    const choice = chooseAward(this.ctx, this.spec, [...this.#bids.values()], avoid)
    if (!choice) return
    if (!this.#windowOver && !this.#allCapableBid() && !awardsEarly(this.ctx, this.spec, choice, this.#bids, avoid, bidRatiosOf(this.ctx))) return
    const { winner: chosen, estimateMs, basis } = choice
    this.#enter({ phase: 'awarding' })
    this.links.siblings?.add(chosen.bidder)
    const epoch = this.#epoch + 1
    this.ctx.work.run(async () => {
      const award = await sign('award', { taskId: this.id, epoch, executor: chosen.bidder, executorKey: chosen.publicKey, at: this.ctx.clock() }, this.ctx.room)
      if (this.#state.phase !== 'awarding') return
      const now = this.ctx.clock()
      this.#ownAward = award
      this.#epoch = epoch
      this.#enter({
        phase: 'running',
        current: {
          award,
          renewedAt: now,
          heard: false,
          maxGapMs: 0,
          stalledMs: 0,
          expectedMs: estimateMs,
          deliverBy: now + deliveryBudgetMs(this.ctx.config, estimateMs),
          awardedAt: now,
          leaseUntil: 0,
          basis,
        },
      })
      this.#nextSeq = 0
      this.#pendingBatches.clear()
      this.#task.set('award', award)
      this.#tellAward(award)
      if (this.#streamed || epoch > 1) this.#restart(this.#restartReason || 'a new executor')
      this.onChange()
    })
  }

  /** A listener that throws is reported, never let out into the award's flow. */
  #tellAward(award: Award): void {
    try {
      this.links.onAward?.(award.executor, award.epoch)
    } catch (error) {
      this.ctx.report(error)
    }
  }

  /** Text shown so far is void: a new executor starts over, or the signed answer replaces it. */
  #restart(reason: string): void {
    this.#streamed = ''
    const current = this.#current
    if (current) this.stream?.push({ type: 'restart', epoch: current.award.epoch, executor: current.award.executor, reason })
  }

  /** Someone deleted or replaced the task: write it again, and award again from fresh bids. */
  #repost(): void {
    // Past its deadline (a poster back from a long absence): the task is over, not posted again.
    if (this.ctx.clock() > this.#deadlineAt) return this.fail(`deadline of ${this.#deadlineAt - this.spec.createdAt} ms passed`)
    if (this.#reposts >= this.ctx.config.maxReposts) {
      return this.fail(`the task was deleted ${this.#reposts + 1} times by a member of the room`, TaskDeletedError)
    }
    this.#reposts++
    this.#task = createTask(this.ctx.tasks, this.spec)
    if (this.#ownAward) this.#task.set('award', this.#ownAward)
    if (this.#current) this.#lapse('the task was deleted', 0)
    if (this.finished) return
    // The bids stay: they are signed for this task, and their bidders put them back as they were.
    this.#outputCursor = 0
    this.#enter({ phase: 'bidding' })
    this.#needsAwardSince = this.ctx.clock()
    this.#restartReason = 'the task was deleted and posted again'
    this.#openBidWindow()
  }

  #accept(result: Result, current: Current): void {
    // A result from an aborted engine says nothing about how fast the peer answers.
    if (current.basis && result.finish !== 'abort') observeSpeed(this.ctx, result.executor, current.basis, this.ctx.clock() - current.awardedAt)
    this.#pendingBatches.clear()
    if (result.text.startsWith(this.#streamed)) this.#emitText(result.text.slice(this.#streamed.length))
    else {
      this.#restart('the signed answer replaces the streamed text')
      this.#emitText(result.text)
    }
    const accepted: TaskResult = { taskId: this.id, text: result.text, finish: result.finish, executor: result.executor, epoch: result.epoch }
    if (result.usage) accepted.usage = result.usage
    this.#finish('done', result.text.length, '')
    this.ctx.accepted(result, this.spec)
    this.settle?.resolve(accepted)
    this.stream?.end()
    this.ctx.events.emit('done', accepted)
  }

  fail(reason: string, ErrorClass: typeof TaskFailedError = TaskFailedError): void {
    if (this.finished) return
    this.#finish('failed', 0, reason)
    const error = new ErrorClass(`task ${this.id} failed: ${reason}`)
    this.settle?.reject(error)
    this.stream?.fail(error)
    this.ctx.events.emit('failed', { taskId: this.id, reason })
  }

  cancel(reason = 'cancelled by its poster'): void {
    if (this.finished) return
    this.#finish('cancelled', 0, reason)
    const error = new AbortError(`task ${this.id} cancelled`)
    this.settle?.reject(error)
    this.stream?.fail(error)
  }

  /**
   * This node stops coordinating the task (its market is destroyed): the waiting caller hears
   * MarketClosedError, its stream fails alike, and the doc is left as it is (a crash or a
   * closed tab), so that this node, restarted, takes the task up again.
   */
  close(): void {
    if (this.finished) return
    this.#enter({ phase: 'closed' })
    const error = new MarketClosedError(`task ${this.id}: the market is closed`)
    this.settle?.reject(error)
    this.stream?.fail(error)
  }

  /** Puts back this poster's close when someone overwrote it, while the task stays in the doc. */
  #guardClose(): void {
    const close = this.#ownClose
    const task = this.ctx.tasks.get(this.id)
    if (close && task === this.#task && (this.#task.get('close') as Close | undefined)?.sig !== close.sig) this.#task.set('close', close)
  }

  #finish(status: LogEntry['status'], chars: number, reason: string): void {
    // The award in force, when there is one, is this poster's own last award.
    const executor = this.#current?.award.executor ?? this.#ownAward?.executor ?? null
    this.#enter({ phase: status })
    const entry: LogEntry = {
      taskId: this.id,
      poster: this.spec.poster,
      executor,
      epoch: this.#epoch,
      status,
      chars,
      createdAt: this.spec.createdAt,
      finishedAt: this.ctx.clock(),
    }
    appendLog(this.ctx.doc, entry, this.ctx.config.maxLog)
    this.ctx.work.run(async () => {
      this.#ownClose = await sign('close', { taskId: this.id, status, reason: reason.slice(0, 500), at: this.ctx.clock() }, this.ctx.room)
      if (this.ctx.tasks.get(this.id) === this.#task) this.#task.set('close', this.#ownClose)
    })
    this.ctx.taskFinished(this.id)
  }
}

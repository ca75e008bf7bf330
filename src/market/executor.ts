import type * as Y from 'yjs'
import type { Engine } from '../inference/engine'
import { canServe } from '../inference/supports'
import { fnv1a, RendezvousRanker } from './award'
import { bidsOn, CapableCount } from './capable-count'
import type { MarketContext } from './context'
import { bidFloorMs, capableOf, estimateTaskMs, promptTokens, speedQueryOf } from './estimate'
import type { EmbedderPresence, MarketEmbedder } from './embed-task'
import { EngineTurns } from './engine-turns'
import { Run } from './run'
import { rateWindowMs, type ServePolicy } from './serve'
import { BidSchema, maxSmallBytes, type Award, type Bid, type Spec } from './schema'
import { sign, verify } from './signing'
import { observeSpeed, predictedMs, type SpeedBasis } from './speed'
import { writeBid } from './task-doc'
import type { LivePeer } from './types'

/**
 * The executor's side of a node: bids on tasks it can run, runs what it is awarded one at a
 * time on its engine, and stops when the poster cancels or awards a newer epoch elsewhere.
 */
const openBidLifetimeWindows = 10
/**
 * Identical peers quote identical estimates, and the tie rule (node id) would send a burst of
 * tasks all to the same one. A deterministic spread of up to 5 %, different per task and node,
 * breaks such ties differently for each task; real differences in speed still dominate.
 */
const tieSpread = 0.05
/** Bids remembered for the speed model at most; old ones go first (their tasks went elsewhere). */
const maxBases = 1_024

/** What the node's owner decided about serving, and what the executor reads to decide. */
export interface ExecutorTerms {
  /** Whether this tab is visible; hidden tabs bid slower estimates. */
  visible: () => boolean
  serve: () => ServePolicy
  /** Whether this tab is busy with its own work (`idle` serves only while it is not). */
  busy: () => boolean
  /** A member's ledger balance (served − consumed): who gave more is run first from a queue. */
  balance: (nodeId: string) => number
  /** The node's loaded embedding model, if any: it runs embedding tasks. */
  embedder: () => MarketEmbedder | null
}

export class Executor {
  readonly #runs = new Map<string, Run>()
  /** Highest epoch this node was awarded per task, so an award is run at most once. */
  readonly #started = new Map<string, number>()
  readonly #checked = new WeakMap<object, boolean>()
  readonly #checking = new WeakSet<object>()
  /** Bids being signed: task id → its poster (they count toward the poster's open tasks at once). */
  readonly #bidding = new Map<string, string>()
  /** The bids this node signed, per task, with the task's poster: only an award for one of them is run. */
  readonly #myBids = new Map<string, { bid: Bid; poster: string }>()
  /** Awards this node refused: nobody asked it (no bid of its own), or its queue was full. */
  unsolicited = 0
  overQueue = 0
  /**
   * Bids not decided yet, with when they were made. They count as load: identical peers that
   * bid on a burst of tasks at once would otherwise all quote an empty queue, tie, and the same
   * node would win every task. A bid nobody decides on stops counting after a few bid windows.
   */
  readonly #openBids = new Map<string, number>()
  readonly #firstSeen = new Map<string, number>()
  readonly #waves = new Map<string, number>()
  readonly #ranker = new RendezvousRanker()
  readonly #capable: CapableCount
  /** Tasks with a timer armed for this node's wave. */
  readonly #waveTimers = new Set<string>()
  /**
   * Per task bid on: what the bid was estimated from, and when the award to this node was seen.
   * When the run finishes, the speed model learns the time it really took.
   */
  readonly #bases = new Map<string, SpeedBasis & { awardSeenAt?: number }>()
  readonly #turns = new EngineTurns()
  /** When this node started each run of a member's tasks, the last minute of them: the rate limit. */
  readonly #startsByPoster = new Map<string, number[]>()
  /** Tasks not bid on because their member was over a limit: looked at again when a slot frees. */
  readonly #deferred = new Set<string>()
  #rateTimer = false
  #stopped = false

  constructor(
    private readonly ctx: MarketContext,
    private readonly engine: Engine,
    private readonly terms: ExecutorTerms,
  ) {
    this.#capable = new CapableCount(ctx.signer.nodeId)
  }

  /** Awarded tasks not finished yet: what the node reports as its queue length. */
  queueLength(): number {
    let count = 0
    for (const run of this.#runs.values()) if (!run.hasResult) count++
    return count
  }

  #openBidCount(): number {
    const staleBeforeMs = this.ctx.clock() - openBidLifetimeWindows * this.ctx.config.bidWindowMs
    let count = 0
    for (const [taskId, atMs] of this.#openBids) {
      if (atMs < staleBeforeMs) this.#openBids.delete(taskId)
      else count++
    }
    return count
  }

  self(): LivePeer {
    const info = this.engine.info()
    // Only a model that is loaded here bids: a node still downloading, or with none, posts only.
    const kind = info.availability === 'ready' && (info.kind === 'webgpu' || info.kind === 'wasm') ? info.kind : 'none'
    const engine = {
      kind,
      modelId: info.modelId,
      state: kind === 'none' ? 'none' : 'ready',
      prefillTokensPerS: info.prefillTokensPerS,
      decodeTokensPerS: info.decodeTokensPerS,
      contextSize: info.contextSize,
      supports: info.supports,
    } as const
    return {
      nodeId: this.ctx.signer.nodeId,
      engine,
      queueLength: this.queueLength() + this.#openBidCount(),
      visible: this.terms.visible(),
      linkDelayMs: 0,
      serve: this.terms.serve().mode,
      embedder: presenceOf(this.terms.embedder()),
    }
  }

  /** A signed entry's check, started once per stored object; null while it runs. */
  #verified(entry: object, check: () => Promise<boolean>, taskId: string): boolean | null {
    const known = this.#checked.get(entry)
    if (known !== undefined) return known
    if (!this.#checking.has(entry)) {
      this.#checking.add(entry)
      this.ctx.work.run(async () => {
        this.#checked.set(entry, await check())
        this.onChange(taskId)
      })
    }
    return null
  }

  /**
   * The checks of several signed entries (null: none stored), those not known yet started
   * together in one job: per entry true or false, undefined for none, null while it runs.
   */
  #verifiedAll(taskId: string, entries: readonly (readonly [object | null, (() => Promise<boolean>) | null])[]): (boolean | null | undefined)[] {
    const missing: [object, () => Promise<boolean>][] = []
    const verdicts = entries.map(([entry, check]) => {
      if (entry === null || check === null) return undefined
      const known = this.#checked.get(entry)
      if (known !== undefined) return known
      if (!this.#checking.has(entry)) {
        this.#checking.add(entry)
        missing.push([entry, check])
      }
      return null
    })
    if (missing.length > 0)
      this.ctx.work.run(async () => {
        const found = await Promise.all(missing.map(([, check]) => check()))
        for (const [i, [entry]] of missing.entries()) this.#checked.set(entry, found[i] === true)
        this.onChange(taskId)
      })
    return verdicts
  }

  onChange(taskId: string): void {
    const { reader, tasks, signer, roomId, verdicts } = this.ctx
    const task = reader.task(tasks, taskId)
    const run = this.#runs.get(taskId)
    if (!task) {
      this.#openBids.delete(taskId)
      this.#bases.delete(taskId)
      this.#waveTimers.delete(taskId)
      return run?.stop()
    }
    const spec = reader.spec(task, taskId)
    if (!spec) return
    const award = reader.award(task, taskId)
    // A task this node has no part in costs it no signature check until it may bid on it (its
    // engine can take it and its wave of bidders is due): in a large room most nodes never do.
    // Skipping decides nothing: what this node acts on below is still verified first.
    if (!this.#involved(taskId, award) && !this.#mayBid(spec)) return
    // Only the poster's signed records end a task or an award; an unsigned status means nothing.
    // Their checks start together, in one batch, and this runs again once they are all done.
    const close = reader.close(task, taskId)
    const lapse = reader.lapse(task, taskId)
    const [specOk, closeOk, awardCheck, lapseCheck] = this.#verifiedAll(taskId, [
      [spec, () => verify('spec', spec, spec.publicKey, spec.poster, roomId, verdicts)],
      [close, close && (() => verify('close', close, spec.publicKey, spec.poster, roomId, verdicts))],
      [award, award && (() => verify('award', award, spec.publicKey, spec.poster, roomId, verdicts))],
      [lapse, lapse && (() => verify('lapse', lapse, spec.publicKey, spec.poster, roomId, verdicts))],
    ])
    if (specOk !== true) return
    if (closeOk === true) {
      this.#openBids.delete(taskId)
      return run?.stop()
    }
    const awardOk = award !== null && awardCheck === true
    const lapseOk = lapse !== null && lapseCheck === true
    if (awardOk) {
      // A bid decided elsewhere frees its member's slot here.
      if (this.#openBids.delete(taskId) && award.executor !== signer.nodeId) this.#retryDeferred()
      if (run && run.epoch < award.epoch) run.stop()
      if (award.executor === signer.nodeId && award.epoch > (this.#started.get(taskId) ?? 0) && !(lapseOk && lapse.epoch >= award.epoch)) this.#maybeStart(task, spec, award.epoch)
    }
    if (lapseOk && run && run.epoch <= lapse.epoch) run.stop()
    this.#runs.get(taskId)?.guardResult(task.get('result'))
    // Whether the task is still open is known once its poster's records are checked: until then no bid.
    if (closeOk === null || awardCheck === null || lapseCheck === null) return
    const reopened = !awardOk || (lapseOk && lapse.epoch >= award.epoch)
    this.#maybeBid(task, spec, reopened)
  }

  /** Whether this node has a part in the task: it bids or bid on it, runs or ran it, or an award (unverified yet) names it. */
  #involved(taskId: string, award: Award | null): boolean {
    return this.#bidding.has(taskId) || this.#myBids.has(taskId) || this.#openBids.has(taskId) || this.#runs.has(taskId) || this.#started.has(taskId) || award?.executor === this.ctx.signer.nodeId
  }

  /** Whether this node may bid on the task now, as far as its unverified spec tells: it serves, its engine can take it, its wave is due. */
  #mayBid(spec: Spec): boolean {
    // Most deliveries to a large room: a task seen before whose wave is not due yet.
    const known = this.#waves.get(spec.taskId)
    if (known !== undefined && known > 0 && !this.#waveDue(spec.taskId, known)) return false
    if (this.terms.serve().mode === 'off') return false
    if (!capableOf(this.self(), spec) || !this.#fits(spec)) return false
    const wave = this.#waveOf(spec)
    return wave === 0 || this.#waveDue(spec.taskId, wave)
  }

  /**
   * Whether a later wave's time to bid has come: `wave` × two bid windows after this node first
   * saw the task. Until then one timer per task looks again when it comes.
   */
  #waveDue(taskId: string, wave: number): boolean {
    const { clock, config, timers } = this.ctx
    const firstSeen = this.#firstSeen.get(taskId) ?? clock()
    this.#firstSeen.set(taskId, firstSeen)
    const dueMs = firstSeen + wave * 2 * config.bidWindowMs
    if (clock() >= dueMs) return true
    if (!this.#waveTimers.has(taskId)) {
      this.#waveTimers.add(taskId)
      timers.after(dueMs - clock(), () => {
        this.#waveTimers.delete(taskId)
        this.#maybeBidOn(taskId)
      })
    }
    return false
  }

  /**
   * Runs an award only when this node asked for it: it bid on the task (an award nobody bid
   * for is someone spending this node's engine) and its queue has room.
   */
  #maybeStart(task: Y.Map<unknown>, spec: Spec, epoch: number): void {
    const taskId = spec.taskId
    this.#started.set(taskId, epoch)
    if (!this.#myBids.has(taskId)) {
      this.unsolicited++
      return
    }
    // Bids on several tasks at once can win more awards than the queue holds: those are run
    // too (they were promised), up to twice the queue; past that the poster hears at once.
    if (this.queueLength() >= 2 * this.ctx.config.maxQueue) {
      this.overQueue++
      const unsigned = { taskId, epoch, executor: this.ctx.signer.nodeId, reason: 'queue full' }
      this.ctx.work.run(async () => {
        const failure = await sign('failure', unsigned, this.ctx.room)
        if (!this.#stopped) task.set('failure', failure)
      })
      return
    }
    this.#start(task, spec, epoch)
  }

  #start(task: Y.Map<unknown>, spec: Spec, epoch: number): void {
    // A lease or output of this epoch by this node, from before a restart: the run was lost
    // midway, so let the lease lapse and the poster award again.
    const lease = this.ctx.reader.lease(task, spec.taskId)
    if (lease && lease.epoch === epoch && lease.executor === this.ctx.signer.nodeId) return
    const basis = this.#bases.get(spec.taskId)
    if (basis) basis.awardSeenAt = this.ctx.clock()
    const run = new Run(this.ctx, spec, epoch, task, (ended) => this.#ended(ended))
    this.#runs.set(spec.taskId, run)
    if (spec.poster !== this.ctx.signer.nodeId) this.#startsByPoster.set(spec.poster, [...this.#recentStarts(spec.poster), this.ctx.clock()])
    run.start(this.#turns, { engine: this.engine, embedder: this.terms.embedder }, () => this.terms.balance(spec.poster)).catch((error: unknown) => this.ctx.report(error))
  }

  #ended(run: Run): void {
    this.#learnSpeed(run)
    if (run.stopped && this.#runs.get(run.spec.taskId) === run) this.#runs.delete(run.spec.taskId)
    if (this.#stopped) return
    // A slot in the queue opened: bid on what is still open.
    this.reconsider()
  }

  /** Once per finished run: how long it took from the award to the end of the answer. */
  #learnSpeed(run: Run): void {
    const basis = this.#bases.get(run.spec.taskId)
    if (run.finishedAt === null || basis?.awardSeenAt === undefined) return
    this.#bases.delete(run.spec.taskId)
    observeSpeed(this.ctx, this.ctx.signer.nodeId, basis, run.finishedAt - basis.awardSeenAt)
  }

  #maybeBidOn(taskId: string): void {
    const { reader, tasks } = this.ctx
    const task = reader.task(tasks, taskId)
    // onChange verifies the spec before anything is done for it.
    if (!task || !reader.spec(task, taskId)) return
    this.onChange(taskId)
  }

  #maybeBid(task: Y.Map<unknown>, spec: Spec, stillOpen: boolean): void {
    const { signer, config, clock } = this.ctx
    const taskId = spec.taskId
    if (this.#bidding.has(taskId) || this.#runs.has(taskId)) return
    const mine = this.#myBids.get(taskId)
    if (mine) return this.#guardBid(task, mine.bid)
    const self = this.self()
    if (!capableOf(self, spec) || !this.#fits(spec) || !this.#serves(spec)) return
    // Not among the first bidders: join only if the task is still open when this node's wave is due.
    const wave = this.#waveOf(spec)
    if (wave > 0 && (!this.#waveDue(taskId, wave) || !stillOpen)) return
    const linkDelayMs = this.ctx.livePeers().find((peer) => peer.nodeId === spec.poster)?.linkDelayMs ?? 0
    const analyticMs = estimateTaskMs({ ...self, linkDelayMs }, spec, config.maxQueue)
    const query = speedQueryOf(self, spec.request)
    if (analyticMs === null || query === null) return
    const basis = { query, baseMs: analyticMs }
    const baseMs = predictedMs(this.ctx, signer.nodeId, basis)
    // No bid promises more than any machine could do: the poster refuses those as lies.
    const estimateMs = Math.max(bidFloorMs(spec.request), Math.round(baseMs * (1 + tieSpread * (fnv1a(`${taskId}:${signer.nodeId}`) / 2 ** 32))))
    this.#bases.delete(taskId)
    this.#bases.set(taskId, basis)
    const oldest = this.#bases.keys().next()
    if (this.#bases.size > maxBases && !oldest.done) this.#bases.delete(oldest.value)
    this.#bidding.set(taskId, spec.poster)
    this.ctx.work.run(async () => {
      const bid = await sign('bid', { taskId, bidder: signer.nodeId, estimateMs, at: clock(), publicKey: signer.publicKey }, this.ctx.room)
      this.#bidding.delete(taskId)
      if (this.#stopped) return
      this.#myBids.set(taskId, { bid, poster: spec.poster })
      if (this.#myBids.size > maxBases) this.#myBids.delete(this.#myBids.keys().next().value ?? '')
      writeBid(task, bid)
      this.#openBids.set(taskId, clock())
    })
  }

  /**
   * Puts this node's bid back when someone overwrote it, unless what is there now is signed by
   * this node's key too (another tab of this profile bid): two tabs must not take turns.
   */
  #guardBid(task: Y.Map<unknown>, mine: Bid): void {
    const { reader, signer, roomId, verdicts } = this.ctx
    const stored = reader.bidOf(task, signer.nodeId)
    if ((stored as { sig?: unknown } | undefined)?.sig === mine.sig) return
    const bid = typeof stored === 'object' && stored !== null ? reader.read(BidSchema, stored, maxSmallBytes) : null
    if (!bid || bid.taskId !== mine.taskId || bid.publicKey !== signer.publicKey) return writeBid(task, mine)
    // null while the check runs: it calls onChange again when it is done.
    if (this.#verified(bid, () => verify('bid', bid, bid.publicKey, bid.bidder, roomId, verdicts), mine.taskId) === false) writeBid(task, mine)
  }

  /**
   * Whether the owner's terms let this node bid on the task: `off` never bids (its own tasks
   * run elsewhere), `idle` not while the tab is busy with its own work (its own tasks aside).
   * One member posting without end must not take every engine of the room: over either limit
   * (`concurrentPerMember` bid on or running, `tasksPerMinute` runs and undecided bids) this
   * node leaves the task to the others, and looks again when a slot of that member frees.
   */
  #serves(spec: Spec): boolean {
    const policy = this.terms.serve()
    if (policy.mode === 'off') return false
    if (spec.poster === this.ctx.signer.nodeId) return true
    if (policy.mode === 'idle' && this.terms.busy()) return false
    const open = this.#openOf(spec.poster)
    const recent = this.#recentStarts(spec.poster)
    if (open < policy.concurrentPerMember && open + recent.length < policy.tasksPerMinute) return true
    this.#deferred.add(spec.taskId)
    const oldest = recent[0]
    if (open + recent.length >= policy.tasksPerMinute && oldest !== undefined && !this.#rateTimer) {
      this.#rateTimer = true
      this.ctx.timers.after(oldest + rateWindowMs - this.ctx.clock() + 1, () => ((this.#rateTimer = false), this.#retryDeferred()))
    }
    return false
  }

  /** A member's tasks this node bid on and that are not decided, or that it runs and has not answered. */
  #openOf(poster: string): number {
    // A burst of tasks seen in one tick: the bids still being signed count too.
    let open = [...this.#bidding.values()].filter((bidPoster) => bidPoster === poster).length
    for (const [taskId, mine] of this.#myBids) {
      if (mine.poster !== poster) continue
      const run = this.#runs.get(taskId)
      if (run ? !run.hasResult && !run.stopped : this.#openBids.has(taskId)) open++
    }
    return open
  }

  #recentStarts(poster: string): number[] {
    const sinceMs = this.ctx.clock() - rateWindowMs
    const recent = (this.#startsByPoster.get(poster) ?? []).filter((atMs) => atMs > sinceMs)
    if (recent.length > 0) this.#startsByPoster.set(poster, recent)
    else this.#startsByPoster.delete(poster)
    return recent
  }

  #retryDeferred(): void {
    if (this.#stopped) return
    const deferred = [...this.#deferred]
    this.#deferred.clear()
    for (const taskId of deferred) this.#maybeBidOn(taskId)
  }

  /** The owner changed the terms, or the tab stopped being busy: bid on what is still open. */
  reconsider(): void {
    if (this.#stopped) return
    this.#deferred.clear()
    for (const taskId of this.ctx.tasks.keys()) if (!this.#runs.has(taskId)) this.#maybeBidOn(taskId)
  }

  /** Which wave of bidders this node is in for a task, fixed when it first sees the task. */
  #waveOf(spec: Spec): number {
    let wave = this.#waves.get(spec.taskId)
    if (wave === undefined) {
      // Counted, not listed: most of a large room needs only how many could bid (see wave()).
      const peers = this.ctx.livePeers()
      const count = this.#capable.count(peers, spec, this.self())
      const ids = (): string[] => peers.filter((peer) => bidsOn(peer, spec)).map((peer) => peer.nodeId)
      wave = this.#ranker.wave(spec.taskId, this.ctx.signer.nodeId, count, ids, this.ctx.config.maxBidders)
      if (this.#waves.size > 10_000) this.#waves.clear()
      this.#waves.set(spec.taskId, wave)
    }
    return wave
  }

  /** Whether this node's engine can take the task: it serves what the request needs (tools, JSON schemas) and its window holds it. */
  #fits(spec: Spec): boolean {
    // An embedding task: the embedder that capableOf found takes any of its texts (it truncates to its window).
    if (spec.requirements.kind === 'embed') return true
    const { contextSize, supports } = this.engine.info()
    if (!canServe(spec.request, supports)) return false
    const needed = spec.requirements.contextSize ?? promptTokens(spec.request) + (spec.request.max_tokens ?? 0)
    return contextSize <= 0 || needed <= contextSize
  }

  /** Aborts every run and writes nothing more (the node is destroyed). */
  stop(): void {
    this.#stopped = true
    for (const run of [...this.#runs.values()]) run.stop()
  }
}

/** What presence shows of an embedder: its model and width, never the object. */
function presenceOf(embedder: MarketEmbedder | null): EmbedderPresence | null {
  return embedder === null ? null : { modelId: embedder.modelId, dimensions: embedder.dimensions }
}

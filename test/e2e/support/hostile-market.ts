// The hostile peer's attacks on the task market (see hostile-peer.ts): every task of the shared
// doc's `tasks` map is attacked as soon as it appears, and again on every change and every tick.
// Its own records carry valid signatures of its own key (it is a keyholder with an identity).
import * as Y from 'yjs'
import type { Signer } from '../../../src/shared/sign'
import { randomKey, type Target } from './hostile-presence'
import { bidFloorMs, layoutOfSpec, signAs, type Layout, type RecordKind } from './hostile-sign'

/** Every attack the hostile makes, by the names; the test asserts each one ran. */
export const attacks = {
  hang: ['bid-zero', 'bid-floor', 'lease'],
  inject: ['batch-unsigned', 'batch-self-signed', 'result-self-signed', 'result-bad-signature'],
  grief: ['status', 'reason', 'close', 'cancel', 'award', 'failure', 'lapse'],
  delete: ['delete'],
  presence: ['spoof', 'fake-ready'],
} as const
/** Attacks that need a chance the room may not give (an honest bid in time, an award, honest output). */
export const opportunistic = ['bid-undercut', 'lease-own', 'batch-ahead', 'result-overwrite'] as const
export type Attack = (typeof attacks)[keyof typeof attacks][number] | (typeof opportunistic)[number]

/** What the attacker saw of the market. */
export interface MarketSeen {
  /** The signed layout read off the posters' specs (null: none verified yet). */
  layout: Layout | null
  tasksSeen: number
  /** Real awards (not the hostile's forgeries) seen, by winner. */
  awards: { toMe: number; toOthers: number }
  /** Results the target wrote, as first seen here (before the hostile overwrites them), by task. */
  honestResults: Record<string, { executor: string; text: string }>
}

export interface MarketAttackerOptions {
  doc: Y.Doc
  signer: Signer
  roomId: string
  target: () => Target | null
  count: (attack: Attack, by?: number) => void
  onError: (error: unknown) => void
}

type Fields = Record<string, unknown>
/** How it bids on a task; `none` leaves it alone, so no epoch of it can ever be the hostile's own. */
type BidStrategy = 'undercut' | 'floor' | 'zero' | 'none'

interface AwardSeen {
  epoch: number
  executor: string
  executorKey: string
}

/** One round of attacks on one task: what the task shows now. */
interface Round {
  t: Tracked
  task: Y.Map<unknown>
  taskId: string
  spec: Fields
  poster: string
  now: number
  /** The current award unless it is one of the hostile's own forgeries. */
  award: AwardSeen | null
}

interface Tracked {
  taskId: string
  map: Y.Map<unknown>
  index: number
  strategy: BidStrategy
  firstSeenAt: number
  bid: boolean
  early: boolean
  /** Award epochs (of others) already attacked. */
  epochs: Set<number>
  awardsCounted: Set<number>
  ahead: Set<number>
  overwritten: boolean
  lastLeaseAt: number
  leaseTurn: number
  lastGriefAt: number
  griefTurn: number
  busy: boolean
  again: boolean
}

const tickMs = 250
const injected = 'INJECTED'
/** How long an undercut waits for an honest bid before it bids the floor. */
const undercutWaitMs = 150
const leaseEveryMs = 500
const griefEveryMs = 1_000
const deleteDelaysMs = [250, 800]
const statuses = ['done', 'failed', 'cancelled'] as const
const strategies: readonly BidStrategy[] = ['undercut', 'floor', 'none', 'zero']

const record = (value: unknown): Fields | null => (typeof value === 'object' && value !== null && !(value instanceof Y.AbstractType) ? (value as Fields) : null)
const text = (value: unknown): string => (typeof value === 'string' ? value : '')
const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0)

function requestText(spec: Fields): string {
  const messages = record(spec.request)?.messages
  return Array.isArray(messages) ? messages.map((message) => text(record(message)?.content)).join('\n') : ''
}

/** Attacks every task of `doc`'s market; `stop` ends every timer. */
export class MarketAttacker {
  readonly nodeId: string
  readonly #doc: Y.Doc
  readonly #tasks: Y.Map<unknown>
  readonly #signer: Signer
  readonly #roomId: string
  readonly #tracked = new Map<string, Tracked>()
  readonly #forged = new Set<string>()
  readonly #timers = new Set<ReturnType<typeof setTimeout>>()
  readonly #interval: ReturnType<typeof setInterval>
  readonly #deletes = new Map<string, number>()
  readonly #awards = { toMe: 0, toOthers: 0 }
  readonly #honestResults: MarketSeen['honestResults'] = {}
  #layout: Layout | null = null
  #seen = 0
  #injected = 0
  #closed = false

  constructor(private readonly options: MarketAttackerOptions) {
    this.#doc = options.doc
    this.#tasks = options.doc.getMap<unknown>('tasks')
    this.#signer = options.signer
    this.#roomId = options.roomId
    this.nodeId = options.signer.nodeId
    this.#tasks.observeDeep(this.#onTasks)
    this.#interval = setInterval(() => this.#tick(), tickMs)
  }

  /** Deletes the next `times` tasks whose request contains `marker`, shortly after each appears. */
  deleteMatching(marker: string, times: number): void {
    this.#deletes.set(marker, times)
  }

  seen(): MarketSeen {
    return { layout: this.#layout, tasksSeen: this.#seen, awards: { ...this.#awards }, honestResults: { ...this.#honestResults } }
  }

  stop(): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#interval)
    for (const timer of this.#timers) clearTimeout(timer)
    this.#tasks.unobserveDeep(this.#onTasks)
  }

  get #target(): Target | null {
    return this.options.target()
  }

  #count(attack: Attack, by = 1): void {
    this.options.count(attack, by)
  }

  #error(error: unknown): void {
    this.options.onError(error)
  }

  #later(delayMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (!this.#closed) run()
    }, delayMs)
    this.#timers.add(timer)
  }

  readonly #onTasks = (events: Y.YEvent<Y.AbstractType<unknown>>[]): void => {
    try {
      const changed = new Set<string>()
      for (const event of events) {
        if (event.target === this.#tasks) for (const key of event.changes.keys.keys()) changed.add(key)
        else if (typeof event.path[0] === 'string') {
          changed.add(event.path[0])
          // Read at once: the hostile's own next write may replace it before its next round.
          if (event.path.length === 1 && event.target instanceof Y.Map && event.changes.keys.has('result')) this.#noteResult(event.path[0], event.target.get('result'))
        }
      }
      for (const taskId of changed) this.#touch(taskId)
    } catch (error) {
      this.#error(error)
    }
  }

  #touch(taskId: string): void {
    const map = this.#tasks.get(taskId)
    if (!(map instanceof Y.Map)) {
      this.#tracked.delete(taskId)
      return
    }
    const known = this.#tracked.get(taskId)
    const tracked = known?.map === map ? known : this.#track(taskId, map)
    if (tracked) void this.#step(tracked)
  }

  #track(taskId: string, map: Y.Map<unknown>): Tracked | null {
    const spec = record(map.get('spec'))
    if (!spec) return null
    const index = this.#seen++
    const tracked: Tracked = {
      taskId,
      map,
      index,
      strategy: strategies[index % strategies.length] ?? 'zero',
      firstSeenAt: Date.now(),
      bid: false,
      early: false,
      epochs: new Set(),
      awardsCounted: new Set(),
      ahead: new Set(),
      overwritten: false,
      lastLeaseAt: 0,
      leaseTurn: 0,
      lastGriefAt: 0,
      griefTurn: 0,
      busy: false,
      again: false,
    }
    this.#tracked.set(taskId, tracked)
    const content = requestText(spec)
    for (const [marker, left] of this.#deletes) {
      if (left <= 0 || !content.includes(marker)) continue
      this.#deletes.set(marker, left - 1)
      this.#later(deleteDelaysMs[left % deleteDelaysMs.length] ?? 250, () => {
        if (this.#tasks.get(taskId) !== map) return
        this.#tasks.delete(taskId)
        this.#count('delete')
      })
    }
    return tracked
  }

  #tick(): void {
    for (const taskId of [...this.#tracked.keys()]) this.#touch(taskId)
  }

  async #step(tracked: Tracked): Promise<void> {
    if (tracked.busy) {
      tracked.again = true
      return
    }
    tracked.busy = true
    try {
      do {
        tracked.again = false
        await this.#attack(tracked)
      } while (this.#rerun(tracked))
    } catch (error) {
      this.#error(error)
    } finally {
      tracked.busy = false
    }
  }

  /** A change arrived while the last round ran (a method: the flag changes across awaits). */
  #rerun(tracked: Tracked): boolean {
    return tracked.again && !this.#closed
  }

  async #sign<T extends Fields>(kind: RecordKind, fields: T): Promise<T & { sig: string }> {
    const signed = await signAs(this.#signer, kind, this.#layout ?? 'v2', this.#roomId, fields)
    this.#forged.add(signed.sig)
    return signed
  }

  /** Whether `value` is a record this peer wrote (or unsigned, which nobody honest writes). */
  #isOwn(value: Fields): boolean {
    return typeof value.sig !== 'string' || this.#forged.has(value.sig)
  }

  async #attack(t: Tracked): Promise<void> {
    if (this.#closed || this.#tasks.get(t.taskId) !== t.map) return
    const spec = record(t.map.get('spec'))
    if (!spec) return
    this.#layout ??= await layoutOfSpec(spec, this.#roomId)
    const award = record(t.map.get('award'))
    const real = award && !this.#isOwn(award) ? award : null
    const round: Round = {
      t,
      task: t.map,
      taskId: t.taskId,
      spec,
      poster: text(spec.poster),
      now: Date.now(),
      award: real && { epoch: count(real.epoch), executor: text(real.executor), executorKey: text(real.executorKey) },
    }
    if (round.award && !t.awardsCounted.has(round.award.epoch)) {
      t.awardsCounted.add(round.award.epoch)
      if (round.award.executor === this.nodeId) this.#awards.toMe++
      else this.#awards.toOthers++
    }
    await this.#early(round)
    await this.#bid(round)
    await this.#lease(round)
    const other = round.award && round.award.executor !== this.nodeId ? round.award : null
    if (other && !t.epochs.has(other.epoch)) await this.#attackEpoch(round, other)
    if (other && !t.ahead.has(other.epoch)) await this.#raceAhead(round, other)
    await this.#overwriteResult(round)
    await this.#grief(round)
  }

  /**
   * At first sight: output for the first epochs nobody signed, an award and a cancel under its
   * own key, a result, failure and lapse in the target's name. On a task it does not bid on (so
   * no epoch can be its own), output and a result for those epochs under its own key too.
   */
  async #early(round: Round): Promise<void> {
    const { t, task, taskId, now } = round
    if (t.early) return
    t.early = true
    const output = task.get('output')
    if (output instanceof Y.Array) {
      for (let epoch = 1; epoch <= 3; epoch++) for (let seq = 0; seq < 4; seq++) output.push([{ epoch, seq, text: `INJECTED-${this.#injected++}` }])
      this.#count('batch-unsigned', 12)
      if (t.strategy === 'none') for (let epoch = 1; epoch <= 3; epoch++) await this.#signedBatches(round, epoch)
    }
    task.set('award', await this.#sign('award', { taskId, epoch: 1, executor: this.nodeId, executorKey: this.#signer.publicKey, at: now }))
    this.#count('award')
    task.set('cancel', await this.#sign('cancel', { taskId, at: now }))
    this.#count('cancel')
    const target = this.#target?.nodeId
    if (target === undefined) return
    await this.#forgeResults(round, 1, target, t.strategy === 'none')
    await this.#forgeEnd(round, 1, target)
  }

  /** Output batches seq 0..3 of `epoch`, signed with its own key. */
  async #signedBatches({ task, taskId }: Round, epoch: number): Promise<void> {
    const output = task.get('output')
    if (!(output instanceof Y.Array)) return
    for (let seq = 0; seq < 4; seq++) {
      const batch = await this.#sign('batch', { taskId, epoch, seq, text: `INJECTED-${this.#injected++}` })
      output.push([{ epoch, seq, text: batch.text, sig: batch.sig }])
    }
    this.#count('batch-self-signed', 4)
  }

  /** A failure in `executor`'s name and a lapse, both under its own key. */
  async #forgeEnd({ task, taskId }: Round, epoch: number, executor: string): Promise<void> {
    task.set('failure', await this.#sign('failure', { taskId, epoch, executor, reason: 'INJECTED-failure' }))
    this.#count('failure')
    task.set('lapse', await this.#sign('lapse', { taskId, epoch, reason: 'INJECTED-lapse', at: Date.now() }))
    this.#count('lapse')
  }

  /** The hang's first half: a bid of 0, at the physical floor, or just under the honest one. */
  async #bid({ t, task, taskId, spec, now }: Round): Promise<void> {
    const bids = task.get('bids')
    if (t.bid || t.strategy === 'none' || !(bids instanceof Y.Map)) return
    const floorMs = bidFloorMs(spec.request)
    let honestMs = Infinity
    for (const [bidder, bid] of bids.entries()) if (bidder !== this.nodeId) honestMs = Math.min(honestMs, count(record(bid)?.estimateMs) || Infinity)
    let estimateMs: number | null = null
    let attack: Attack = 'bid-floor'
    if (t.strategy === 'zero') [estimateMs, attack] = [0, 'bid-zero']
    else if (t.strategy === 'undercut' && honestMs < Infinity) [estimateMs, attack] = [Math.max(floorMs, Math.floor(honestMs * 0.9)), 'bid-undercut']
    else if (t.strategy === 'floor' || now - t.firstSeenAt > undercutWaitMs) estimateMs = floorMs
    else this.#later(50, () => this.#touch(taskId))
    if (estimateMs === null) return
    t.bid = true
    bids.set(this.nodeId, await this.#sign('bid', { taskId, bidder: this.nodeId, estimateMs, at: Date.now(), publicKey: this.#signer.publicKey }))
    this.#count(attack)
  }

  /** The hang's second half: lease renewals naming itself, for the award's epoch and the next; never an answer. */
  async #lease({ t, task, taskId, now, award }: Round): Promise<void> {
    if (now - t.lastLeaseAt < leaseEveryMs) return
    t.lastLeaseAt = now
    const epochs = award ? [award.epoch, award.epoch + 1] : [1]
    const epoch = epochs[t.leaseTurn++ % epochs.length] ?? 1
    task.set('lease', await this.#sign('lease', { taskId, epoch, executor: this.nodeId, until: Date.now() + 3_000 }))
    this.#count('lease')
    if (award?.executor === this.nodeId && epoch === award.epoch) this.#count('lease-own')
  }

  /** An award to someone else: output and results for its epoch nobody honest signed; a forged award, failure and lapse. */
  async #attackEpoch(round: Round, award: AwardSeen): Promise<void> {
    const { t, task, taskId } = round
    const { epoch, executor } = award
    t.epochs.add(epoch)
    await this.#signedBatches(round, epoch)
    await this.#forgeResults(round, epoch, executor, true)
    task.set('award', await this.#sign('award', { taskId, epoch: epoch + 1, executor: this.nodeId, executorKey: this.#signer.publicKey, at: Date.now() }))
    task.set('award', await this.#sign('award', { taskId, epoch: epoch + 1, executor, executorKey: this.#keyOf(round, executor), at: Date.now() }))
    this.#count('award', 2)
    await this.#forgeEnd(round, epoch, executor)
  }

  /** Honest output of that epoch has begun: the next sequence numbers, unsigned and under its own key. */
  async #raceAhead({ t, task, taskId }: Round, { epoch }: AwardSeen): Promise<void> {
    const output = task.get('output')
    if (!(output instanceof Y.Array)) return
    let lastSeq = -1
    for (const value of output.toArray()) {
      const batch = record(value)
      if (batch && count(batch.epoch) === epoch && !text(batch.text).startsWith(injected)) lastSeq = Math.max(lastSeq, count(batch.seq))
    }
    if (lastSeq < 0) return
    t.ahead.add(epoch)
    for (let seq = lastSeq + 1; seq <= lastSeq + 3; seq++) {
      const batch = await this.#sign('batch', { taskId, epoch, seq, text: `INJECTED-${this.#injected++}` })
      output.push([
        { epoch, seq, text: batch.text },
        { epoch, seq, text: batch.text, sig: batch.sig },
      ])
    }
    this.#count('batch-ahead', 6)
  }

  /** The honest result, once: noted (for the test), then overwritten with forged ones. */
  async #overwriteResult(round: Round): Promise<void> {
    const result = record(round.task.get('result'))
    if (!result || this.#isOwn(result) || text(result.executor) === this.nodeId) return
    if (round.t.overwritten) return
    round.t.overwritten = true
    await this.#forgeResults(round, count(result.epoch) || (round.award?.epoch ?? 1), text(result.executor), true)
    this.#count('result-overwrite')
  }

  /** A result the target wrote, as the doc first shows it (for the test to compare with). */
  #noteResult(taskId: string, value: unknown): void {
    const result = record(value)
    if (result && !this.#isOwn(result) && text(result.executor) === this.#target?.nodeId) this.#honestResults[taskId] ??= { executor: text(result.executor), text: text(result.text) }
  }

  /** A result saying INJECTED in `executor`'s name with a bad signature; before it, with `selfSigned`, one under its own key. */
  async #forgeResults(round: Round, epoch: number, executor: string, selfSigned: boolean): Promise<void> {
    const { task, taskId, poster } = round
    if (selfSigned) {
      task.set('result', await this.#sign('result', { taskId, poster, epoch, executor: this.nodeId, publicKey: this.#signer.publicKey, text: injected, finish: 'stop' }))
      this.#count('result-self-signed')
    }
    task.set('result', await this.#sign('result', { taskId, poster, epoch, executor, publicKey: this.#keyOf(round, executor), text: injected, finish: 'stop' }))
    this.#count('result-bad-signature')
  }

  /** Status griefing, every second: unsigned status and reason, a close under its own key. */
  async #grief({ t, task, taskId, now }: Round): Promise<void> {
    if (now - t.lastGriefAt < griefEveryMs) return
    t.lastGriefAt = now
    const status = statuses[t.griefTurn++ % statuses.length]
    const reason = `${injected}-reason: ${status} says the hostile`
    this.#doc.transact(() => {
      task.set('status', status)
      task.set('reason', reason)
    })
    this.#count('status')
    this.#count('reason')
    task.set('close', await this.#sign('close', { taskId, status, reason, at: Date.now() }))
    this.#count('close')
  }

  /** `nodeId`'s public key as the task shows it (award, bid), or the target's, or any key. */
  #keyOf({ task, award }: Round, nodeId: string): string {
    const bids = task.get('bids')
    const fromAward = award?.executor === nodeId ? award.executorKey : ''
    const fromBid = bids instanceof Y.Map ? text(record(bids.get(nodeId))?.publicKey) : ''
    const fromPresence = this.#target?.nodeId === nodeId ? (this.#target.publicKey ?? '') : ''
    return fromAward || fromBid || fromPresence || randomKey()
  }
}

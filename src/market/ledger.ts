import * as Y from 'yjs'
import type { ChatRequest } from '../inference/types'
import { jsonByteLength, utf8 } from '../shared/encoding'
import { Emitter, type Unsubscribe } from '../shared/events'
import type { SerialWork } from './context'
import { CarrySchema, maxCarryPairs, maxReceiptsPerPoster, maxSmallBytes, readValue, ReceiptSchema, type Carry, type CarryPair, type Receipt, type Result } from './schema'
import { evidenceOf, sign, verify, verifyEvidence, type RoomSigner } from './signing'

/** What one node gave the room and took from it, in tokens and tasks, as the ledger says. */
export interface Contribution {
  served: number
  consumed: number
  tasksServed: number
  tasksConsumed: number
}

const none: Contribution = { served: 0, consumed: 0, tasksServed: 0, tasksConsumed: 0 }
const carryKey = 'carry'
const maxReceiptBytes = 2 * maxSmallBytes
const maxCarryBytes = 64 * 1024

type Entry = { kind: 'receipt'; owner: string; value: Receipt } | { kind: 'carry'; owner: string; value: Carry }

function entryOf(owner: string, value: Receipt | Carry): Entry {
  return 'evidence' in value ? { kind: 'receipt', owner, value } : { kind: 'carry', owner, value }
}

/**
 * The most tokens a request and its answer can hold: every token is at least one byte of the
 * messages (and tools) or of the answer, and the answer at most `max_tokens`. A poster counts no
 * more than this, whatever the executor signed: an executor cannot inflate its own served count.
 */
export function plausibleTokens(request: ChatRequest, text: string): number {
  const answerBytes = utf8(text).length + 64
  const completion = Math.min(request.max_tokens ?? answerBytes, answerBytes)
  return jsonByteLength(request) + 256 + completion
}

/**
 * The room's contribution ledger (doc map `ledger`, contract in schema.ts's header): receipts
 * that posters write for the signed results they accepted, folded into one carry per poster
 * past `maxReceiptsPerPoster`. Every node derives the same totals from the same doc: an entry
 * counts only under its writer's own key, signed by it, with the executor's signed result of
 * that poster's task as evidence, and each task once.
 *
 * A node checks only the ledger it reads: its own entries at once (it numbers and folds them),
 * every other poster's when something reads the totals (the swarm view when it draws, an
 * executor weighing a poster's balance). Until then a change only says "read again": a node
 * that shows nothing (a hidden tab, a relay's gateway) pays no signature checks for receipts of
 * tasks it had no part in, two per task per node in a room.
 */
export class Ledger {
  rejected = 0
  readonly #map: Y.Map<unknown>
  /** Per stored value, the key it was checked under and what the check found: a value counts only where it was checked. */
  readonly #checked = new WeakMap<object, { key: string; entry: Entry | false }>()
  readonly #checking = new WeakMap<object, string>()
  /** Per poster, the carry with the highest `through` seen: an older one put back is a replay. */
  readonly #bestCarry = new Map<string, Carry>()
  /** This node's own entries by key: put back when someone overwrites or deletes them. */
  readonly #own = new Map<string, Receipt | Carry>()
  readonly #events: Emitter<{ change: undefined }>
  #totals = new Map<string, Contribution>()
  #nextN = 0
  #stopped = false
  /** Other posters' entries arrived that no read has had checked yet. */
  #unread = false
  readonly #observer = (event: Y.YMapEvent<unknown>) => {
    try {
      this.#guard(event.keysChanged as Set<string>)
      this.#checkAll(false)
    } catch (error) {
      this.report(error)
    }
  }

  constructor(
    doc: Y.Doc,
    private readonly room: RoomSigner,
    private readonly clock: () => number,
    private readonly work: () => SerialWork,
    private readonly report: (error: unknown) => void,
  ) {
    this.#map = doc.getMap('ledger')
    this.#events = new Emitter(report)
  }

  start(): void {
    this.#map.observe(this.#observer)
    this.#checkAll(false)
  }

  stop(): void {
    this.#stopped = true
    this.#map.unobserve(this.#observer)
    this.#events.clear()
  }

  /** `change`: the totals were computed anew. */
  on(event: 'change', listener: () => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** What the checked entries say; a read of entries not checked yet has them checked (`change` tells when). */
  contribution(nodeId: string): Contribution {
    this.#read()
    return this.#totals.get(nodeId) ?? none
  }

  /** Every node the ledger names, with what it served and consumed (as `contribution`). */
  totals(): Map<string, Contribution> {
    this.#read()
    return new Map(this.#totals)
  }

  /** Tokens served minus tokens consumed: who gives is served first when an executor is busy. */
  balance(nodeId: string): number {
    const { served, consumed } = this.contribution(nodeId)
    return served - consumed
  }

  /**
   * Writes this poster's receipt for an accepted result of its task run by a peer (its own
   * runs are not contributions). Tokens: the executor's signed usage, capped by plausibleTokens.
   */
  record(request: ChatRequest, result: Result): void {
    const { signer } = this.room
    if (result.executor === signer.nodeId || result.poster !== signer.nodeId) return
    this.work().run(async () => {
      const tokens = Math.min(result.usage?.total_tokens ?? 0, plausibleTokens(request, result.text))
      const evidence = await evidenceOf(result)
      const n = this.#takeN()
      const receipt = await sign('receipt', { poster: signer.nodeId, publicKey: signer.publicKey, n, tokens, evidence, at: this.clock() }, this.room)
      const folded = this.#receiptsToFold()
      const carry = folded.length > 0 ? await this.#fold(folded) : null
      if (this.#stopped) return
      this.#map.doc?.transact(() => {
        this.#put(`${signer.nodeId}/${result.taskId}`, receipt)
        if (carry) this.#put(`${signer.nodeId}/${carryKey}`, carry)
        for (const key of folded.map(([key]) => key)) {
          this.#own.delete(key)
          this.#map.delete(key)
        }
      })
    })
  }

  /** The verified entries under this node's own key, by doc key: written before a restart, or by another tab of this profile, too. */
  #mine(): [string, Entry][] {
    const mine: [string, Entry][] = []
    const self = this.room.signer.nodeId
    for (const [key, value] of this.#map) {
      if (typeof value !== 'object' || value === null) continue
      // What this node wrote itself counts before its check has run.
      const own = this.#own.get(key)
      const entry = own?.sig === (value as { sig?: unknown }).sig && own ? entryOf(self, own) : this.#entryAt(key, value)
      if (entry && entry.owner === self) mine.push([key, entry])
    }
    return mine
  }

  /** The next receipt number: past every entry of this node's key in the doc. */
  #takeN(): number {
    for (const [, entry] of this.#mine()) this.#nextN = Math.max(this.#nextN, entry.kind === 'carry' ? entry.value.through : entry.value.n)
    return ++this.#nextN
  }

  /** This node's receipts past the cap, oldest first, with the one about to be written counted. */
  #receiptsToFold(): [string, Receipt][] {
    const mine = this.#mine()
      .flatMap(([key, entry]): [string, Receipt][] => (entry.kind === 'receipt' ? [[key, entry.value]] : []))
      .sort(([, a], [, b]) => a.n - b.n)
    return mine.slice(0, Math.max(0, mine.length + 1 - maxReceiptsPerPoster))
  }

  async #fold(folded: [string, Receipt][]): Promise<Carry> {
    const { signer } = this.room
    const carries = [this.#bestCarry.get(signer.nodeId), ...this.#mine().map(([, entry]) => (entry.kind === 'carry' ? entry.value : undefined))]
    const previous = carries.reduce<Carry | undefined>((best, carry) => (carry && carry.through > (best?.through ?? 0) ? carry : best), undefined)
    const pairs = new Map<string, CarryPair>()
    for (const pair of previous?.pairs ?? []) pairs.set(pair.executor, { ...pair })
    let through = previous?.through ?? 0
    for (const [, receipt] of folded) {
      const pair = pairs.get(receipt.evidence.executor) ?? { executor: receipt.evidence.executor, tasks: 0, tokens: 0 }
      pairs.set(pair.executor, { ...pair, tasks: pair.tasks + 1, tokens: pair.tokens + receipt.tokens })
      through = Math.max(through, receipt.n)
    }
    // Past the cap of executors a carry names, the smallest contributions are let go.
    const kept = [...pairs.values()].sort((a, b) => b.tokens - a.tokens || (a.executor < b.executor ? -1 : 1)).slice(0, maxCarryPairs)
    return sign('carry', { poster: signer.nodeId, publicKey: signer.publicKey, through, pairs: kept, at: this.clock() }, this.room)
  }

  #put(key: string, value: Receipt | Carry): void {
    this.#own.set(key, value)
    this.#map.set(key, value)
  }

  /** Puts back this node's entries that someone replaced or deleted, unless this profile's key signed what is there now. */
  #guard(keys: Set<string>): void {
    for (const key of keys) {
      const own = this.#own.get(key)
      const stored = this.#map.get(key)
      if (!own || (stored as { sig?: unknown } | undefined)?.sig === own.sig) continue
      const entry = this.#entryAt(key, stored)
      if (entry && entry.owner === this.room.signer.nodeId) this.#own.delete(key)
      else this.#map.set(key, own)
    }
  }

  #read(): void {
    if (!this.#unread || this.#stopped) return
    this.#unread = false
    this.#checkAll(true)
  }

  /** Checks what is new: this node's own entries, and with `everyone` the other posters' too; then counts anew. */
  #checkAll(everyone: boolean): void {
    let pending = false
    const own = `${this.room.signer.nodeId}/`
    for (const [key, value] of this.#map) {
      if (typeof value !== 'object' || value === null) {
        this.rejected++
        continue
      }
      if (this.#checked.get(value)?.key === key || this.#checking.get(value) === key) continue
      if (!everyone && !key.startsWith(own)) {
        this.#unread = true
        continue
      }
      this.#checking.set(value, key)
      pending = true
      this.work().run(async () => {
        const entry = await this.#verify(key, value)
        if (!entry) this.rejected++
        this.#checked.set(value, { key, entry })
      })
    }
    if (pending) this.work().run(() => this.#recompute())
    else this.#recompute()
  }

  /** What the check of `value` under `key` found; undefined when it was not checked there (yet). */
  #entryAt(key: string, value: unknown): Entry | false | undefined {
    if (typeof value !== 'object' || value === null) return undefined
    const checked = this.#checked.get(value)
    return checked?.key === key ? checked.entry : undefined
  }

  /** The entry when it counts where it sits; false otherwise. Never throws. */
  async #verify(key: string, value: object): Promise<Entry | false> {
    const slash = key.indexOf('/')
    const owner = key.slice(0, slash)
    const name = key.slice(slash + 1)
    const { roomId, verdicts } = this.room
    if (name === carryKey) {
      const carry = readValue(CarrySchema, value, maxCarryBytes)
      if (!carry || carry.poster !== owner) return false
      const executors = new Set(carry.pairs.map((pair) => pair.executor))
      if (executors.size !== carry.pairs.length || executors.has(owner)) return false
      return (await verify('carry', carry, carry.publicKey, owner, roomId, verdicts)) ? { kind: 'carry', owner, value: carry } : false
    }
    const receipt = readValue(ReceiptSchema, value, maxReceiptBytes)
    // Under its writer's key and its task's name; about a peer's run; no more tokens than the executor signed.
    if (!receipt || receipt.poster !== owner || receipt.evidence.taskId !== name || receipt.evidence.executor === owner) return false
    if (receipt.tokens > (receipt.evidence.usage?.total_tokens ?? 0)) return false
    if (!(await verify('receipt', receipt, receipt.publicKey, owner, roomId, verdicts))) return false
    return (await verifyEvidence(receipt.evidence, owner, roomId, verdicts)) ? { kind: 'receipt', owner, value: receipt } : false
  }

  #recompute(): void {
    const receipts = new Map<string, Receipt[]>()
    for (const [key, value] of this.#map) {
      const entry = this.#entryAt(key, value)
      if (!entry) continue
      if (entry.kind === 'receipt') receipts.set(entry.owner, [...(receipts.get(entry.owner) ?? []), entry.value])
      else if (entry.value.through > (this.#bestCarry.get(entry.owner)?.through ?? 0)) this.#bestCarry.set(entry.owner, entry.value)
    }
    const totals = new Map<string, Contribution>()
    const add = (poster: string, executor: string, tasks: number, tokens: number): void => {
      const served = totals.get(executor) ?? { ...none }
      totals.set(executor, { ...served, served: served.served + tokens, tasksServed: served.tasksServed + tasks })
      const consumed = totals.get(poster) ?? { ...none }
      totals.set(poster, { ...consumed, consumed: consumed.consumed + tokens, tasksConsumed: consumed.tasksConsumed + tasks })
    }
    for (const [poster, carry] of this.#bestCarry) for (const pair of carry.pairs) add(poster, pair.executor, pair.tasks, pair.tokens)
    for (const [poster, list] of receipts) {
      const through = this.#bestCarry.get(poster)?.through ?? 0
      // A poster's newest receipts past its carry; more than the cap are a flood, not counted.
      const counted = list
        .filter((receipt) => receipt.n > through)
        .sort((a, b) => b.n - a.n)
        .slice(0, maxReceiptsPerPoster)
      for (const receipt of counted) add(poster, receipt.evidence.executor, 1, receipt.tokens)
    }
    this.#totals = totals
    this.#events.emit('change', undefined)
  }
}

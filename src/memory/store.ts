import * as v from 'valibot'
import type * as Y from 'yjs'
import { ValidationError } from '../shared/errors'
import { Emitter, type Unsubscribe } from '../shared/events'
import { memoryPhases } from '../shared/phases'
import type { Signer } from '../shared/sign'
import {
  authorOfId,
  EntryDraftSchema,
  isNewer,
  isTombstone,
  maxMemoryEntries,
  newEntryId,
  signEntry,
  signTombstone,
  type EntryDraft,
  type MemoryEntry,
  type MemoryVersion,
  type Refusal,
  type Trust,
} from './entry'
import { MemoryMarks, type Marks } from './marks'
import { addedAndDeleted, CappedKeys } from './cap'
import { Restorer } from './restorer'
import { fuseRankings, type VectorSearch } from './fusion'
import { searchScored } from './search'
import { VersionVerifier, type SignatureCheck, type VerifierStats } from './verifier'

/** An entry as readers see it: what it says, who wrote it, and whether to trust it. */
export interface MemoryItem {
  id: string
  text: string
  tags: string[]
  author: string
  createdAt: number
  updatedAt: number
  trust: Trust
}

/**
 * An entry found by a search, with how well it matched (higher is better; comparable within one
 * search only). With memory search on, `score` is the fused (RRF) score and the ranks say where
 * the entry stood in each ranking it is in (1 = first); keyword-only search leaves them out.
 */
export interface MemoryHit extends MemoryItem {
  score: number
  keywordRank?: number
  vectorRank?: number
  /** Cosine between the query's embedding and the entry's. */
  cosine?: number
}

export interface SearchOptions {
  /** How many entries to return at most (10 unless said). */
  k?: number
}

const defaultSearchK = 10
/** Candidates taken from each ranking before fusion. */
const fusionCandidates = 50

export interface MemoryRefused {
  id: string
  refusal: Refusal
}

/** What one 'change' changed: entries listed anew or again, and ids no longer listed. */
export interface MemoryDelta {
  updated: readonly MemoryItem[]
  removed: readonly string[]
}

interface MemoryEvents {
  /** Every listed entry, newest first (as items()). */
  change: readonly MemoryItem[]
  /** The same moment as 'change': only what changed since the last one (a view that redraws only that). */
  delta: MemoryDelta
  refused: MemoryRefused
}

export interface MemoryStoreOptions {
  clock?: () => number
  /** Where a listener's throw or a background failure goes. */
  onError?: (error: unknown) => void
  /** High-water marks kept across reloads (the room's); in this page only when left out. */
  marks?: Marks
  /** A verified version is put back after a random delay up to this, so one reader does it rather than all. */
  restoreDelayMs?: number
  maxEntries?: number
  /** The signature check (WebCrypto's unless said; tests slow it down). */
  check?: SignatureCheck
}

const memoryMapName = 'memory'
const defaultRestoreDelayMs = 1_500
/** Up to this many 'change's in a frame are told at once; past that (a flood) the rest wait for the next frame. */
const changesPerFrame = 4
const frameMs = 16

function itemOf(id: string, entry: MemoryEntry, trust: Trust): MemoryItem {
  return { id, text: entry.text, tags: entry.tags, author: entry.author, createdAt: entry.createdAt, updatedAt: entry.updatedAt, trust }
}

/** A value nobody verifiable wrote, shown for what it says and flagged. */
function leniently(id: string, value: unknown, trust: Trust): MemoryItem {
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
  let text: string
  try {
    text = typeof record.text === 'string' ? record.text.slice(0, 500) : JSON.stringify(value).slice(0, 200)
  } catch {
    text = '(unreadable)'
  }
  const author = typeof record.author === 'string' ? record.author.slice(0, 40) : 'unknown'
  return { id, text, tags: [], author, createdAt: 0, updatedAt: 0, trust }
}

const trustOf: Record<Refusal, Trust> = {
  malformed: 'malformed',
  future: 'malformed',
  'over-cap': 'malformed',
  'bad-signature': 'bad-signature',
  'other-room': 'bad-signature',
  'wrong-author': 'bad-signature',
  replay: 'bad-signature',
}

/** Newest first, then by id: the order items() lists in (every reader the same). */
function listOrder(a: MemoryItem, b: MemoryItem): number {
  return b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

const noRefusals = (): Record<Refusal, number> => ({ malformed: 0, 'bad-signature': 0, 'other-room': 0, 'wrong-author': 0, future: 0, replay: 0, 'over-cap': 0 })

/**
 * The room's shared memory: signed entries in the doc's `memory` map (the contract is in
 * entry.ts). Readers verify every version, refuse replays and copies from other rooms, and put
 * back what an unsigned or forged write removed; only an entry's author edits or deletes it.
 */
export class MemoryStore {
  readonly #map: Y.Map<unknown>
  readonly #clock: () => number
  readonly #onError: (error: unknown) => void
  readonly #marks: Marks
  /** What is listed: trusted entries, and flagged values that nobody verifiable wrote. */
  readonly #items = new Map<string, MemoryItem>()
  /** #items in list order, kept as it changes: a change costs a binary search and a move, not a sort. */
  readonly #sorted: MemoryItem[] = []
  /** Ids listed anew or taken out since the last 'change'. */
  readonly #touched = new Set<string>()
  readonly #verifier: VersionVerifier
  /** The last verified version of each id (an entry or a tombstone). */
  readonly #held = new Map<string, MemoryVersion>()
  readonly #pending = new Map<string, Promise<void>>()
  /** Values known verified (this node's writes, versions it put back): not checked again. */
  readonly #verified = new WeakSet<object>()
  readonly #restorer: Restorer
  readonly #events: Emitter<MemoryEvents>
  readonly #refused = noRefusals()
  #changeQueued = false
  #vectors: VectorSearch | null = null
  /** When the last few 'change's were told (the flood guard). */
  readonly #recentChanges: number[] = []
  /** The keys within the cap (the rest are ignored). */
  readonly #keys: CappedKeys
  readonly #observer = (event: Y.YMapEvent<unknown>): void => {
    const changed = new Set(event.keysChanged as Set<string>)
    const { added, deleted } = addedAndDeleted(event.changes.keys)
    for (const id of this.#keys.update(added, deleted)) changed.add(id)
    for (const id of changed) memoryPhases.mark(id, 'seen')
    for (const id of changed) this.#refresh(id)
  }

  constructor(
    doc: Y.Doc,
    private readonly signer: Signer,
    /** The room id (roomIdOf): bound into every version signed or accepted here. */
    readonly roomId: string,
    options: MemoryStoreOptions = {},
  ) {
    this.#clock = options.clock ?? Date.now
    this.#onError = options.onError ?? ((error) => console.error(error))
    this.#marks = options.marks ?? new MemoryMarks()
    this.#events = new Emitter(options.onError)
    this.#map = doc.getMap(memoryMapName)
    this.#verifier = new VersionVerifier(roomId, { clock: this.#clock, ...(options.check ? { check: options.check } : {}) })
    this.#restorer = new Restorer(this.#map, options.restoreDelayMs ?? defaultRestoreDelayMs, this.#onError)
    this.#keys = new CappedKeys(options.maxEntries ?? maxMemoryEntries, this.#map.keys())
    this.#map.observe(this.#observer)
    for (const id of this.#map.keys()) this.#refresh(id)
  }

  on<K extends keyof MemoryEvents>(event: K, listener: (payload: MemoryEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** Entries verified so far, newest first. */
  items(): MemoryItem[] {
    return this.#sorted.slice()
  }

  /** How the batch verifier fared: versions asked about, signatures checked, verdicts found kept. */
  verification(): Readonly<VerifierStats> {
    return this.#verifier.stats
  }

  /** Versions refused so far, by reason. */
  refusals(): Readonly<Record<Refusal, number>> {
    return { ...this.#refused }
  }

  /** Verified versions this node put back after an unsigned or forged write removed them. */
  get restored(): number {
    return this.#restorer.restored
  }

  /** Waits for the verification of every version that has arrived, and for the put-backs it asked for. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0 || this.#restorer.busy) {
      await Promise.all([...this.#pending.values(), this.#restorer.settled()])
    }
  }

  async list(): Promise<MemoryItem[]> {
    await this.settled()
    return this.items()
  }

  /**
   * The `k` entries that match `query` best, with their scores (higher is better): by keyword,
   * and, with a vector search set (memory search on), by meaning too, the two rankings fused. A
   * vector search that fails is reported and the answer is the keyword one.
   */
  async search(query: string, options: SearchOptions = {}): Promise<MemoryHit[]> {
    const k = options.k ?? defaultSearchK
    const items = await this.list()
    const vectors = this.#vectors
    if (!vectors || query.trim() === '') return searchScored(items, query, k).map(({ item, score }) => ({ ...item, score }))
    const keyword = searchScored(items, query, Math.max(k, fusionCandidates))
    const vector = await vectors.nearest(query, Math.max(k, fusionCandidates)).catch((error: unknown) => {
      this.#onError(error)
      return null
    })
    if (vector === null) return keyword.slice(0, k).map(({ item, score }) => ({ ...item, score }))
    const byId = new Map(items.map((item) => [item.id, item]))
    return fuseRankings(keyword, vector, (id) => byId.get(id), k).map(({ item, ...ranks }) => ({ ...item, ...ranks }))
  }

  /** Where `search` gets its vector ranking from; null: keyword only. */
  setVectorSearch(vectors: VectorSearch | null): void {
    this.#vectors = vectors
  }

  /** Signs and writes a new entry of this node's; returns its id. */
  async add(draft: EntryDraft): Promise<string> {
    const id = newEntryId(this.signer.nodeId)
    const now = this.#clock()
    const entry = await memoryPhases.timeAsync('sign', () => signEntry(id, this.roomId, parseDraft(draft), this.signer, now))
    memoryPhases.mark(id, 'signed')
    this.#write(id, entry)
    return id
  }

  /**
   * A new version of one of this node's entries; for an entry of another node (only its author
   * may write it) a new entry of this node's with the edited text. Returns the id written. The
   * creation time carried over is the last verified version's, never a forged value's.
   */
  async update(id: string, draft: EntryDraft): Promise<string> {
    const parsed = parseDraft(draft)
    // What arrived for this id is judged first: the version edited is the last verified one.
    await this.#pending.get(id)
    const held = this.#held.get(id)
    if (held === undefined && !this.#map.has(id)) throw new ValidationError(`no memory entry ${id}`)
    if (held && isTombstone(held)) throw new ValidationError(`memory entry ${id} was deleted`)
    if (authorOfId(id) !== this.signer.nodeId) return this.add(parsed)
    const updatedAt = Math.max(this.#clock(), (held?.updatedAt ?? 0) + 1)
    this.#write(id, await signEntry(id, this.roomId, parsed, this.signer, updatedAt, held?.createdAt ?? updatedAt))
    return id
  }

  /**
   * Deletes an entry: this node's own with a signed tombstone; a value nobody verifiable wrote
   * by taking it out. Another node's verified entry is its author's to delete: false.
   */
  async remove(id: string): Promise<boolean> {
    // A value still being verified may be another node's real entry, not junk to clear away.
    await this.#pending.get(id)
    const held = this.#held.get(id)
    if (held === undefined) {
      if (!this.#map.has(id)) return false
      this.#map.delete(id)
      return true
    }
    if (isTombstone(held) || held.author !== this.signer.nodeId) return false
    const updatedAt = Math.max(this.#clock(), held.updatedAt + 1)
    this.#write(id, await signTombstone(id, this.roomId, this.signer, updatedAt))
    return true
  }

  stop(): void {
    this.#map.unobserve(this.#observer)
    this.#restorer.stop()
    this.#events.clear()
  }

  #write(id: string, version: MemoryVersion): void {
    this.#verified.add(version)
    this.#map.set(id, version)
  }

  #refresh(id: string): void {
    this.#pending.delete(id)
    if (this.#map.has(id) && !this.#keys.admits(id)) {
      this.#unlist(id)
      this.#refuse(id, 'over-cap')
      return
    }
    const value = this.#map.get(id)
    if (value === undefined) {
      // A deletion: honoured for what nobody verifiable wrote; a verified version is put back.
      if (this.#held.has(id)) this.#restorer.schedule(id, value, () => this.#putBack(id))
      else this.#unlist(id)
      return
    }
    if (typeof value === 'object' && value !== null && this.#verified.has(value)) {
      this.#accept(id, value as MemoryVersion)
      return
    }
    const started = performance.now()
    const check = this.#verifier.verify(id, value).then(
      (verdict) => {
        memoryPhases.add('verify', performance.now() - started)
        if (this.#pending.get(id) !== check || this.#map.get(id) !== value) return
        this.#pending.delete(id)
        if (!verdict.ok) {
          this.#refuse(id, verdict.refusal)
          this.#insist(id, value, trustOf[verdict.refusal])
          return
        }
        const held = this.#held.get(id)
        const mark = this.#marks.get(markOf(id))
        const older = held ? verdict.version.sig !== held.sig && !isNewer(verdict.version, held) : mark !== undefined && verdict.version.updatedAt < mark
        if (older) {
          this.#refuse(id, 'replay')
          if (held) this.#restorer.schedule(id, value, () => this.#putBack(id))
          else this.#unlist(id)
          return
        }
        this.#accept(id, verdict.version)
      },
      (error: unknown) => {
        if (this.#pending.get(id) === check) this.#pending.delete(id)
        this.#onError(error)
      },
    )
    this.#pending.set(id, check)
  }

  /** A refused value: the verified version stays (and goes back in); with none, the value is listed flagged. */
  #insist(id: string, value: unknown, trust: Trust): void {
    if (this.#held.has(id)) {
      this.#restorer.schedule(id, value, () => this.#putBack(id))
      return
    }
    this.#list(leniently(id, value, trust))
  }

  #putBack(id: string): MemoryVersion | undefined {
    const held = this.#held.get(id)
    if (held) this.#verified.add(held)
    return held
  }

  #accept(id: string, version: MemoryVersion): void {
    const held = this.#held.get(id)
    this.#restorer.cancel(id)
    memoryPhases.mark(id, 'accepted')
    if (held && held.sig === version.sig && (isTombstone(version) || this.#items.has(id))) return
    this.#held.set(id, version)
    this.#marks.raise(markOf(id), version.updatedAt)
    if (isTombstone(version)) this.#unlist(id)
    else this.#list(itemOf(id, version, 'trusted'))
  }

  #refuse(id: string, refusal: Refusal): void {
    this.#refused[refusal]++
    this.#events.emit('refused', { id, refusal })
  }

  /** Lists `item` (in place of what was listed for its id). */
  #list(item: MemoryItem): void {
    this.#unsort(item.id)
    this.#items.set(item.id, item)
    this.#sorted.splice(this.#indexOf(item), 0, item)
    this.#changed(item.id)
  }

  #unlist(id: string): void {
    if (this.#unsort(id)) this.#changed(id)
  }

  #unsort(id: string): boolean {
    const listed = this.#items.get(id)
    if (!listed) return false
    this.#items.delete(id)
    const index = this.#indexOf(listed)
    if (this.#sorted[index] === listed) this.#sorted.splice(index, 1)
    else this.#sorted.splice(this.#sorted.indexOf(listed), 1)
    return true
  }

  /** Where `item` goes in #sorted (binary search; ids are unique, so the order is total). */
  #indexOf(item: MemoryItem): number {
    let low = 0
    let high = this.#sorted.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (listOrder(this.#sorted[middle] as MemoryItem, item) < 0) low = middle + 1
      else high = middle
    }
    return low
  }

  /**
   * One 'change' per task's worth of changes, told once its synchronous work is done (a write
   * is visible without delay); only a flood (more than changesPerFrame in a frame) waits for the
   * next frame, so it costs a few lists per frame, not one per version.
   */
  #changed(id: string): void {
    this.#touched.add(id)
    if (this.#changeQueued) return
    this.#changeQueued = true
    const emit = (): void => {
      this.#changeQueued = false
      const now = performance.now()
      this.#recentChanges.push(now)
      if (this.#recentChanges.length > changesPerFrame) this.#recentChanges.shift()
      const updated: MemoryItem[] = []
      const removed: string[] = []
      for (const touched of this.#touched) {
        const item = this.#items.get(touched)
        if (item) updated.push(item)
        else removed.push(touched)
      }
      this.#touched.clear()
      this.#events.emit('change', this.items())
      this.#events.emit('delta', { updated, removed })
    }
    const oldest = this.#recentChanges.length >= changesPerFrame ? (this.#recentChanges[0] ?? -Infinity) : -Infinity
    const waitMs = oldest + frameMs - performance.now()
    if (waitMs <= 0) queueMicrotask(emit)
    else setTimeout(emit, waitMs)
  }
}

const markOf = (id: string): string => `memory/${id}`

function parseDraft(draft: EntryDraft): v.InferOutput<typeof EntryDraftSchema> {
  const parsed = v.safeParse(EntryDraftSchema, draft)
  if (!parsed.success) throw new ValidationError(parsed.issues.map((issue) => issue.message).join('; '))
  return parsed.output
}

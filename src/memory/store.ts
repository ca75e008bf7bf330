import * as v from 'valibot'
import type * as Y from 'yjs'
import { ValidationError } from '../shared/errors'
import { Emitter, type Unsubscribe } from '../shared/events'
import { randomId } from '../shared/ids'
import type { Signer } from '../shared/sign'
import { EntryDraftSchema, signEntry, verifyEntry, type EntryDraft, type MemoryEntry, type Trust } from './entry'
import { search } from './search'

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

interface MemoryEvents {
  change: readonly MemoryItem[]
}

const memoryMapName = 'memory'

function leniently(id: string, value: unknown, trust: Trust, entry?: MemoryEntry): MemoryItem {
  if (entry) return { id, text: entry.text, tags: entry.tags, author: entry.author, createdAt: entry.createdAt, updatedAt: entry.updatedAt, trust }
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
  const text = typeof record.text === 'string' ? record.text.slice(0, 500) : JSON.stringify(value).slice(0, 200)
  const author = typeof record.author === 'string' ? record.author.slice(0, 40) : 'unknown'
  return { id, text, tags: [], author, createdAt: 0, updatedAt: 0, trust }
}

/**
 * The room's shared memory: signed entries in the doc's `memory` map. Readers verify every
 * entry; an entry that fails is listed with its trust flag and never counted as trusted.
 */
export class MemoryStore {
  readonly #map: Y.Map<unknown>
  readonly #items = new Map<string, MemoryItem>()
  readonly #pending = new Map<string, Promise<void>>()
  /** Entries this node signed itself: trusted without checking its own signature again. */
  readonly #ownWrites = new WeakSet<MemoryEntry>()
  readonly #events: Emitter<MemoryEvents>

  constructor(
    doc: Y.Doc,
    private readonly signer: Signer,
    private readonly clock: () => number = Date.now,
    onError?: (error: unknown) => void,
  ) {
    this.#events = new Emitter(onError)
    this.#map = doc.getMap(memoryMapName)
    this.#map.observe((event) => {
      for (const id of event.keysChanged as Set<string>) this.#refresh(id)
    })
    for (const id of this.#map.keys()) this.#refresh(id)
  }

  #refresh(id: string): void {
    const value = this.#map.get(id)
    if (value === undefined) {
      this.#pending.delete(id)
      if (this.#items.delete(id)) this.#events.emit('change', this.items())
      return
    }
    if (typeof value === 'object' && value !== null && this.#ownWrites.has(value as MemoryEntry)) {
      this.#pending.delete(id)
      this.#items.set(id, leniently(id, value, 'trusted', value as MemoryEntry))
      this.#events.emit('change', this.items())
      return
    }
    const check = verifyEntry(id, value).then(({ trust, entry }) => {
      if (this.#pending.get(id) !== check || this.#map.get(id) !== value) return
      this.#pending.delete(id)
      this.#items.set(id, leniently(id, value, trust, entry))
      this.#events.emit('change', this.items())
    })
    this.#pending.set(id, check)
  }

  on<K extends keyof MemoryEvents>(event: K, listener: (payload: MemoryEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** Entries verified so far, newest first. */
  items(): MemoryItem[] {
    return [...this.#items.values()].sort((a, b) => b.updatedAt - a.updatedAt || a.id.localeCompare(b.id))
  }

  /** Waits for the verification of every entry that has arrived. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending.values())
  }

  async list(): Promise<MemoryItem[]> {
    await this.settled()
    return this.items()
  }

  async search(query: string): Promise<MemoryItem[]> {
    return search(await this.list(), query)
  }

  async add(draft: EntryDraft): Promise<string> {
    const id = randomId()
    this.#write(id, await signEntry(id, parseDraft(draft), this.signer, this.clock()))
    return id
  }

  /** Replaces an entry's text and tags; the new version is signed by this node. */
  async update(id: string, draft: EntryDraft): Promise<void> {
    const current = this.#map.get(id)
    if (current === undefined) throw new ValidationError(`no memory entry ${id}`)
    const { entry } = await verifyEntry(id, current)
    this.#write(id, await signEntry(id, parseDraft(draft), this.signer, this.clock(), entry))
  }

  #write(id: string, entry: MemoryEntry): void {
    this.#ownWrites.add(entry)
    this.#map.set(id, entry)
  }

  remove(id: string): boolean {
    if (!this.#map.has(id)) return false
    this.#map.delete(id)
    return true
  }
}

function parseDraft(draft: EntryDraft): v.InferOutput<typeof EntryDraftSchema> {
  const parsed = v.safeParse(EntryDraftSchema, draft)
  if (!parsed.success) throw new ValidationError(parsed.issues.map((issue) => issue.message).join('; '))
  return parsed.output
}

/*
 * The room's shared micro-net weights (a public contract, like `memory` and `tasks`). Every
 * peer may be hostile: a contribution has one writer, its author, and no one member can
 * capture the room's learning.
 *
 * doc.getMap('nets'): `${net}/${author}` → one node's contribution to one net, signed:
 *   { v: 2, room, net, shape, author, publicKey, samples, at, weights, sig }
 *   room     the room id (src/shared/room-id.ts: a digest of room name and key, 32 hex)
 *   net      the net's name ('router', 'speed')
 *   shape    its shape as micronets' shapeOf writes it ('16-16relu-8tanh-1sigmoid')
 *   samples  how many samples the author has learned from: its weight in the average (clipped)
 *   at       when it was published, epoch ms: ≤ the reader's clock + maxClockSkewMs; a
 *            contribution older than maxContributionAgeMs no longer counts
 *   weights  the net as serializeMlp writes it ({ format: 'edgeswarm-mlp', version: 1, … })
 *   sig      Ed25519 by the author's key over UTF-8 JSON
 *            ['edgeswarm/nets/v2', room, net, shape, author, publicKey, samples, at, weights]
 *   author   the node id: SHA-256 of the raw public key, first 10 bytes, hex
 * Each node combines the contributions it can verify with micronets' federatedAverage: sample
 * counts clipped to 2× the lower median (and 10 000), each coordinate a trimmed mean. A contribution
 * of the wrong shape, with NaN, infinite or huge weights, too big, under another node's key, of
 * another room, dated ahead, older than one already seen from its author, or badly signed is
 * ignored and counted; it never removes the author's last verified contribution, which readers
 * put back into the map. Readers consider at most maxNetEntries keys, the first in key order.
 */
import * as v from 'valibot'
import type * as Y from 'yjs'
import { addedAndDeleted, CappedKeys } from '../../memory/cap'
import { maxClockSkewMs } from '../../memory/entry'
import { MemoryMarks, type Marks } from '../../memory/marks'
import { Restorer } from '../../memory/restorer'
import { clippedWeights, federatedAverage, fingerprintOf, type Contribution } from '../../micronets/federated'
import type { Mlp } from '../../micronets/mlp'
import { deserializeMlp, serializeMlp } from '../../micronets/serialize'
import { jsonByteLength } from '../../shared/encoding'
import { Emitter, type Unsubscribe } from '../../shared/events'
import { signingPayload, verifySigned, type Signer } from '../../shared/sign'

export const maxNetEntryBytes = 64 * 1024
/** Past this age a contribution no longer counts (its author has not learned or been back since). */
export const maxContributionAgeMs = 14 * 24 * 60 * 60_000
/** Keys of the nets map a reader considers: the first ones in key order. */
export const maxNetEntries = 512
const signingTag = 'edgeswarm/nets/v2'
const defaultRestoreDelayMs = 1_500
const mergeDelayMs = 50

const NetEntrySchema = v.object({
  v: v.literal(2),
  room: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)),
  net: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,31}$/)),
  shape: v.pipe(v.string(), v.maxLength(256)),
  author: v.pipe(v.string(), v.regex(/^[0-9a-f]{20}$/)),
  publicKey: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)),
  samples: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1e12)),
  at: v.pipe(v.number(), v.integer(), v.minValue(0)),
  weights: v.unknown(),
  sig: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{86}$/)),
})
type NetEntry = v.InferOutput<typeof NetEntrySchema>

/** The signed bytes of a contribution (a public contract: see the header). */
export function netPayload(entry: Omit<NetEntry, 'sig' | 'v'>): Uint8Array<ArrayBuffer> {
  return signingPayload(signingTag, [entry.room, entry.net, entry.shape, entry.author, entry.publicKey, entry.samples, entry.at, entry.weights])
}

/** A verified contribution as the dashboard shows it. */
export interface ContributorView {
  author: string
  samples: number
  /** What it counts for in the average: its samples, clipped. */
  weight: number
  at: number
}

export interface MergedNet {
  net: string
  /** The federated average, or null when nobody has contributed yet. */
  merged: Mlp | null
  fingerprint: string | null
  contributors: ContributorView[]
}

export interface Rejection {
  key: string
  reason: string
}

export interface SharedNetsEvents {
  merged: MergedNet
  rejected: Rejection
}

export interface SharedNetsOptions {
  clock?: () => number
  /** High-water marks of contributions (in this page only when left out). */
  marks?: Marks
  /** A verified contribution is put back after a random delay up to this. */
  restoreDelayMs?: number
  maxAgeMs?: number
  maxEntries?: number
}

interface Verified extends Contribution {
  at: number
  sig: string
  /** The signed value as it was in the map: what goes back when something else replaces it. */
  value: NetEntry
}

/**
 * One node's view of the `nets` map: publishes its own contributions, verifies everyone's
 * and keeps each net's federated average. `shapes` names the nets this node knows and the
 * shape each must have; entries for other nets are left alone (a newer app may add nets).
 */
export class SharedNets {
  readonly #map: Y.Map<unknown>
  readonly #verified = new Map<string, Map<string, Verified>>()
  readonly #events: Emitter<SharedNetsEvents>
  readonly #rejections: Rejection[] = []
  readonly #rejectedByNet = new Map<string, number>()
  readonly #clock: () => number
  readonly #marks: Marks
  readonly #maxAgeMs: number
  readonly #maxEntries: number
  readonly #restorer: Restorer
  /** Values this node wrote or put back: not checked again. */
  readonly #known = new WeakSet<object>()
  /** The keys within the cap (the rest are ignored). */
  readonly #keys: CappedKeys
  #rejected = 0
  #tail: Promise<void> = Promise.resolve()
  #ageTimer: ReturnType<typeof setTimeout> | null = null
  #mergeTimer: ReturnType<typeof setTimeout> | null = null
  readonly #dirty = new Set<string>()
  #stopped = false
  readonly #observer = (event: Y.YMapEvent<unknown>): void => {
    const keys = new Set(event.keysChanged as Set<string>)
    const { added, deleted } = addedAndDeleted(event.changes.keys)
    for (const key of this.#keys.update(added, deleted)) keys.add(key)
    for (const key of [...keys].sort()) this.#check(key)
  }

  constructor(
    doc: Y.Doc,
    private readonly signer: Signer,
    /** The room id (roomIdOf): bound into every contribution signed or accepted here. */
    readonly roomId: string,
    private readonly shapes: Readonly<Record<string, string>>,
    report: (error: unknown) => void,
    options: SharedNetsOptions = {},
  ) {
    this.#clock = options.clock ?? Date.now
    this.#marks = options.marks ?? new MemoryMarks()
    this.#maxAgeMs = options.maxAgeMs ?? maxContributionAgeMs
    this.#maxEntries = options.maxEntries ?? maxNetEntries
    this.#map = doc.getMap('nets')
    this.#events = new Emitter<SharedNetsEvents>(report)
    this.#restorer = new Restorer(this.#map, options.restoreDelayMs ?? defaultRestoreDelayMs, report)
    for (const net of Object.keys(shapes)) this.#verified.set(net, new Map())
    this.#map.observe(this.#observer)
    this.#keys = new CappedKeys(this.#maxEntries, this.#map.keys())
    for (const key of [...this.#map.keys()].sort()) this.#check(key)
  }

  on<K extends keyof SharedNetsEvents>(event: K, listener: (payload: SharedNetsEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** Contributions refused so far (bad shape, values, size, room, age or signature). */
  get rejected(): number {
    return this.#rejected
  }

  /** Contributions to `net` refused so far. */
  rejectedFor(net: string): number {
    return this.#rejectedByNet.get(net) ?? 0
  }

  /** The latest refusals, newest last. */
  rejections(): readonly Rejection[] {
    return this.#rejections
  }

  /** Verified contributions this node put back after an invalid write replaced or removed them. */
  get restored(): number {
    return this.#restorer.restored
  }

  /** Resolves once every check queued so far has run, and the put-backs they asked for (tests, benchmarks). */
  async settled(): Promise<void> {
    do await Promise.all([this.#tail, this.#restorer.settled()])
    while (this.#restorer.busy)
    this.#tellMerged()
  }

  merged(net: string): MergedNet {
    const oldest = this.#clock() - this.#maxAgeMs
    const entries = [...(this.#verified.get(net)?.values() ?? [])].filter((entry) => entry.at >= oldest).sort((a, b) => (a.author < b.author ? -1 : 1))
    const merged = federatedAverage(entries)
    const weights = clippedWeights(entries.map((entry) => entry.samples))
    return {
      net,
      merged,
      fingerprint: merged ? fingerprintOf(merged) : null,
      contributors: entries.map(({ author, samples, at }, index) => ({ author, samples, weight: weights[index] ?? 0, at })),
    }
  }

  /** Signs and writes this node's contribution to `net`: its weights and how many samples taught them. */
  async publish(net: string, weights: Mlp, samples: number): Promise<void> {
    const shape = this.shapes[net]
    if (shape === undefined) throw new RangeError(`unknown net ${net}`)
    const key = `${net}/${this.signer.nodeId}`
    // Never older than our own last contribution, whatever the clock did.
    const at = Math.max(Math.round(this.#clock()), (this.#verified.get(net)?.get(this.signer.nodeId)?.at ?? -1) + 1, (this.#marks.get(`nets/${key}`) ?? -1) + 1)
    const unsigned = { room: this.roomId, net, shape, author: this.signer.nodeId, publicKey: this.signer.publicKey, samples: Math.max(1, Math.round(samples)), at, weights: serializeMlp(weights) }
    const sig = await this.signer.sign(netPayload(unsigned))
    if (this.#stopped) return
    const value = { v: 2 as const, ...unsigned, sig }
    this.#known.add(value)
    this.#map.set(key, value)
  }

  stop(): void {
    this.#stopped = true
    this.#map.unobserve(this.#observer)
    this.#restorer.stop()
    if (this.#ageTimer !== null) clearTimeout(this.#ageTimer)
    if (this.#mergeTimer !== null) clearTimeout(this.#mergeTimer)
    this.#events.clear()
  }

  #reject(key: string, reason: string): void {
    this.#rejected++
    const net = key.split('/')[0] ?? ''
    this.#rejectedByNet.set(net, (this.#rejectedByNet.get(net) ?? 0) + 1)
    this.#rejections.push({ key: key.slice(0, 80), reason })
    if (this.#rejections.length > 20) this.#rejections.shift()
    this.#events.emit('rejected', { key, reason })
  }

  /** The author's last verified contribution stays; it goes back into the map in a moment. */
  #keepVerified(key: string, author: string, verified: Map<string, Verified>, trigger: unknown): void {
    if (!verified.has(author)) return
    this.#restorer.schedule(key, trigger, () => {
      const held = verified.get(author)?.value
      if (held) this.#known.add(held)
      return held
    })
  }

  #check(key: string): void {
    const [net, author] = key.split('/')
    const verified = net === undefined ? undefined : this.#verified.get(net)
    if (!verified || author === undefined || net === undefined) return
    if (this.#map.has(key) && !this.#keys.admits(key)) {
      if (verified.delete(author)) this.#emit(net)
      this.#reject(key, `past the cap of ${this.#maxEntries} entries`)
      return
    }
    const value = this.#map.get(key)
    if (value === undefined) {
      this.#keepVerified(key, author, verified, value)
      return
    }
    const read = this.#read(key, net, author, value)
    if (!read) {
      this.#keepVerified(key, author, verified, value)
      return
    }
    const known = typeof value === 'object' && value !== null && this.#known.has(value)
    this.#tail = this.#tail
      .then(async () => {
        const { entry } = read
        const ok = known || (await verifySigned(author, entry.publicKey, entry.sig, netPayload(entry)))
        if (this.#stopped || this.#map.get(key) !== value) return
        if (!ok) {
          this.#reject(key, 'bad signature or key')
          this.#keepVerified(key, author, verified, value)
          return
        }
        const held = verified.get(author)
        const mark = this.#marks.get(`nets/${key}`)
        if (held?.sig === entry.sig) {
          this.#restorer.cancel(key)
          return
        }
        if ((held && (entry.at < held.at || (entry.at === held.at && entry.sig < held.sig))) || (!held && mark !== undefined && entry.at < mark)) {
          this.#reject(key, 'older than a contribution already seen from its author')
          this.#keepVerified(key, author, verified, value)
          return
        }
        this.#restorer.cancel(key)
        verified.set(author, { author, samples: entry.samples, at: entry.at, net: read.net, sig: entry.sig, value: entry })
        this.#marks.raise(`nets/${key}`, entry.at)
        this.#emit(net)
      })
      .catch((error: unknown) => this.#reject(key, error instanceof Error ? error.message : String(error)))
  }

  /** Schema, size, room, author, clock, shape and values; null (and counted) when any is wrong. */
  #read(key: string, net: string, author: string, value: unknown): { entry: NetEntry; net: Mlp } | null {
    let size: number
    try {
      size = jsonByteLength(value)
    } catch {
      size = Infinity
    }
    if (size > maxNetEntryBytes) return this.#refuse(key, `entry of ${size} bytes`)
    const parsed = v.safeParse(NetEntrySchema, value)
    if (!parsed.success) return this.#refuse(key, `bad entry: ${v.summarize(parsed.issues).slice(0, 200)}`)
    const entry = parsed.output
    if (entry.room !== this.roomId) return this.#refuse(key, 'signed for another room')
    if (entry.net !== net || entry.author !== author) return this.#refuse(key, 'entry filed under another key')
    if (entry.at > this.#clock() + maxClockSkewMs) return this.#refuse(key, 'dated ahead of this clock')
    const shape = this.shapes[net]
    if (entry.shape !== shape) return this.#refuse(key, `shape ${entry.shape.slice(0, 64)} where ${shape ?? '?'} is expected`)
    try {
      return { entry, net: deserializeMlp(entry.weights, shape) }
    } catch (error) {
      return this.#refuse(key, error instanceof Error ? error.message : String(error))
    }
  }

  #refuse(key: string, reason: string): null {
    this.#reject(key, reason)
    return null
  }

  /**
   * Tells the new average of `net` a moment later: a burst of contributions (a node joining a
   * busy room, a flood) costs one average, not one per contribution. settled() tells at once.
   */
  #emit(net: string): void {
    this.#dirty.add(net)
    this.#mergeTimer ??= setTimeout(() => this.#tellMerged(), mergeDelayMs)
  }

  #tellMerged(): void {
    if (this.#mergeTimer !== null) clearTimeout(this.#mergeTimer)
    this.#mergeTimer = null
    const nets = [...this.#dirty]
    this.#dirty.clear()
    if (this.#stopped) return
    for (const net of nets) this.#events.emit('merged', this.merged(net))
    if (nets.length > 0) this.#scheduleAgeOut()
  }

  /** When the oldest counted contribution ages out, the average changes: say so then. */
  #scheduleAgeOut(): void {
    if (this.#ageTimer !== null) clearTimeout(this.#ageTimer)
    this.#ageTimer = null
    if (this.#stopped) return
    const now = this.#clock()
    let next = Infinity
    for (const contributions of this.#verified.values()) for (const { at } of contributions.values()) if (at + this.#maxAgeMs > now) next = Math.min(next, at + this.#maxAgeMs)
    if (!Number.isFinite(next)) return
    this.#ageTimer = setTimeout(
      () => {
        this.#ageTimer = null
        for (const net of this.#verified.keys()) this.#emit(net)
      },
      Math.min(2 ** 31 - 1, Math.max(0, next - now + 1)),
    )
    const timer = this.#ageTimer as { unref?: () => void }
    timer.unref?.()
  }
}

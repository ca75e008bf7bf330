/*
 * The room's shared micro-net weights (a public contract, like `memory` and `tasks`):
 *
 * doc.getMap('nets'): `${net}/${author}` → one node's contribution to one net, signed:
 *   { v: 1, net, shape, author, publicKey, samples, at, weights, sig }
 *   net      the net's name ('router', 'speed')
 *   shape    its shape as micronets' shapeOf writes it ('16-16relu-8tanh-1sigmoid')
 *   samples  how many samples the author has learned from: its weight in the average
 *   weights  the net as serializeMlp writes it ({ format: 'edgeswarm-mlp', version: 1, … })
 *   sig      Ed25519 by the author's key over UTF-8 JSON
 *            ['edgeswarm/nets/v1', v, net, shape, author, publicKey, samples, at, weights]
 *   author   the node id: SHA-256 of the raw public key, first 10 bytes, hex
 * Each node averages the contributions it can verify, weighted by samples (federated
 * averaging). A contribution of the wrong shape, with NaN, infinite or huge weights, too big,
 * under another node's key or a bad signature is ignored and counted.
 */
import * as v from 'valibot'
import type * as Y from 'yjs'
import { federatedAverage, fingerprintOf, type Contribution } from '../micronets/federated'
import type { Mlp } from '../micronets/mlp'
import { deserializeMlp, serializeMlp } from '../micronets/serialize'
import { jsonByteLength } from '../shared/encoding'
import { Emitter, type Unsubscribe } from '../shared/events'
import { signingPayload, verifySigned, type Signer } from '../shared/sign'

export const maxNetEntryBytes = 64 * 1024
const signingTag = 'edgeswarm/nets/v1'

const NetEntrySchema = v.object({
  v: v.literal(1),
  net: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,31}$/)),
  shape: v.pipe(v.string(), v.maxLength(256)),
  author: v.pipe(v.string(), v.regex(/^[0-9a-f]{20}$/)),
  publicKey: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)),
  samples: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1e9)),
  at: v.pipe(v.number(), v.integer(), v.minValue(0)),
  weights: v.unknown(),
  sig: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{86}$/)),
})
type NetEntry = v.InferOutput<typeof NetEntrySchema>

const fieldsOf = (entry: Omit<NetEntry, 'sig'>): unknown[] => [entry.v, entry.net, entry.shape, entry.author, entry.publicKey, entry.samples, entry.at, entry.weights]

/** A verified contribution as the dashboard shows it. */
export interface ContributorView {
  author: string
  samples: number
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

interface Verified extends Contribution {
  at: number
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
  #rejected = 0
  #tail: Promise<void> = Promise.resolve()
  #stopped = false
  readonly #observer = (event: Y.YMapEvent<unknown>): void => {
    for (const key of [...event.changes.keys.keys()].sort()) this.#check(key)
  }

  constructor(
    doc: Y.Doc,
    private readonly signer: Signer,
    private readonly shapes: Readonly<Record<string, string>>,
    report: (error: unknown) => void,
    private readonly clock: () => number = Date.now,
  ) {
    this.#map = doc.getMap('nets')
    this.#events = new Emitter<SharedNetsEvents>(report)
    for (const net of Object.keys(shapes)) this.#verified.set(net, new Map())
    this.#map.observe(this.#observer)
    for (const key of [...this.#map.keys()].sort()) this.#check(key)
  }

  on<K extends keyof SharedNetsEvents>(event: K, listener: (payload: SharedNetsEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** Contributions refused so far (bad shape, values, size or signature). */
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

  /** Resolves once every check queued so far has run (tests, benchmarks). */
  settled(): Promise<void> {
    return this.#tail
  }

  merged(net: string): MergedNet {
    const entries = [...(this.#verified.get(net)?.values() ?? [])]
    const merged = federatedAverage(entries)
    return {
      net,
      merged,
      fingerprint: merged ? fingerprintOf(merged) : null,
      contributors: entries.map(({ author, samples, at }) => ({ author, samples, at })).sort((a, b) => (a.author < b.author ? -1 : 1)),
    }
  }

  /** Signs and writes this node's contribution to `net`: its weights and how many samples taught them. */
  async publish(net: string, weights: Mlp, samples: number): Promise<void> {
    const shape = this.shapes[net]
    if (shape === undefined) throw new RangeError(`unknown net ${net}`)
    const unsigned = { v: 1 as const, net, shape, author: this.signer.nodeId, publicKey: this.signer.publicKey, samples: Math.max(1, Math.round(samples)), at: Math.round(this.clock()), weights: serializeMlp(weights) }
    const sig = await this.signer.sign(signingPayload(signingTag, fieldsOf(unsigned)))
    if (this.#stopped) return
    this.#map.set(`${net}/${this.signer.nodeId}`, { ...unsigned, sig })
  }

  stop(): void {
    this.#stopped = true
    this.#map.unobserve(this.#observer)
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

  #check(key: string): void {
    const [net, author] = key.split('/')
    const verified = net === undefined ? undefined : this.#verified.get(net)
    if (!verified || author === undefined) return
    const value = this.#map.get(key)
    if (value === undefined) {
      if (verified.delete(author)) this.#emit(net as string)
      return
    }
    const read = this.#read(key, net as string, author, value)
    if (!read) {
      // A bad update takes the author's earlier contribution out too: its weights are suspect.
      if (verified.delete(author)) this.#emit(net as string)
      return
    }
    this.#tail = this.#tail
      .then(async () => {
        const { entry } = read
        const ok = await verifySigned(author, entry.publicKey, entry.sig, signingPayload(signingTag, fieldsOf(entry)))
        if (this.#stopped || this.#map.get(key) !== value) return
        if (!ok) {
          this.#reject(key, 'bad signature or key')
          if (verified.delete(author)) this.#emit(net as string)
          return
        }
        verified.set(author, { author, samples: entry.samples, at: entry.at, net: read.net })
        this.#emit(net as string)
      })
      .catch((error: unknown) => this.#reject(key, error instanceof Error ? error.message : String(error)))
  }

  /** Schema, size, author, shape and values; null (and counted) when any is wrong. */
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
    if (entry.net !== net || entry.author !== author) return this.#refuse(key, 'entry filed under another key')
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

  #emit(net: string): void {
    this.#events.emit('merged', this.merged(net))
  }
}

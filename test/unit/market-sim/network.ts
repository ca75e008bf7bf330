import * as Y from 'yjs'
import { Deliveries, mergeTraces, type Trace } from './deliveries'
import type { Scheduler } from './scheduler'
import type { Topology } from './topology'

const remote = Symbol('sim-remote')
const networkOwner = 1_000_000

export interface NetworkFaults {
  dropRate: number
  minDelayMs: number
  maxDelayMs: number
  resyncMs: number
}

interface Outgoing {
  update: Uint8Array
  traces: Trace[]
}

/**
 * Links between docs carrying Yjs updates with random delays and drops. Without a topology,
 * every doc links to every other (a full mesh) and sends what it wrote itself. With one (a
 * partial mesh, as y-webrtc forms past its cap), a doc links to its neighbours only and floods:
 * like y-webrtc's doc 'update' handler, it sends every update it applies, whatever its origin,
 * to all its links, and Yjs ignores what a doc already has. A dropped message, a partition or
 * a crash marks the link dirty; dirty links resync by state vector (y-protocols' sync step 1/2)
 * every `resyncMs`, so docs converge once links heal.
 */
export class Network {
  readonly docs: (Y.Doc | null)[] = []
  readonly deliveries: Deliveries
  readonly #outbox: Outgoing[][] = []
  readonly #dirty = new Set<number>()
  /** The traces of the message being applied now: its doc's 'update' handler forwards them. */
  #incoming: { to: number; traces: Trace[] } | null = null
  #group: number[] | null = null
  /** Bumped whenever who sees whom may have changed (a node up or down, a partition). */
  generation = 0
  #resyncEvent = false
  updatesSent = 0
  messagesSent = 0

  constructor(
    private readonly sched: Scheduler,
    private readonly random: () => number,
    private readonly faults: NetworkFaults,
    private readonly size: number,
    private readonly topology: Topology | null = null,
  ) {
    this.deliveries = new Deliveries(size)
    for (let i = 0; i < size; i++) {
      this.docs.push(null)
      this.#outbox.push([])
    }
  }

  /** `restarted`: the doc comes back with saved state, so every link to it resyncs. */
  attach(index: number, doc: Y.Doc, restarted: boolean): void {
    this.docs[index] = doc
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (this.docs[index] !== doc) return
      const outbox = this.#outbox[index] as Outgoing[]
      if (origin !== remote) outbox.push({ update, traces: [this.deliveries.wrote(index, this.sched.now)] })
      else if (this.topology && this.#incoming?.to === index) outbox.push({ update, traces: this.deliveries.applied(index, this.#incoming.traces, this.sched.now) })
    })
    this.generation++
    this.topology?.join(index)
    this.#syncOpened()
    if (restarted) this.markAll(index)
  }

  detach(index: number): void {
    this.docs[index] = null
    this.generation++
    this.#outbox[index] = []
    this.topology?.leave(index)
    this.#syncOpened()
    // What the crashed node sent to some peers but not all is only with those peers now: every
    // pair resyncs once (as y-webrtc peers do when their mesh changes), or the docs would stay
    // apart for good if the node never comes back.
    for (let i = 0; i < this.size; i++) this.markAll(i)
  }

  /** Whether a message can go from one doc to the other over a link now. */
  linkUp(from: number, to: number): boolean {
    return this.sees(from, to) && (!this.topology || this.topology.linked(from, to))
  }

  /** Whether the two nodes are up and on one side of any partition: their presence reaches each other. */
  sees(a: number, b: number): boolean {
    if (!this.docs[a] || !this.docs[b]) return false
    return !this.#group || this.#group[a] === this.#group[b]
  }

  partition(group: number[] | null): void {
    this.#group = group
    this.generation++
    if (!group) for (let i = 0; i < this.size; i++) this.markAll(i)
  }

  markAll(index: number): void {
    for (const j of this.#linksOf(index)) {
      this.#mark(index, j)
      this.#mark(j, index)
    }
  }

  #linksOf(index: number): Iterable<number> {
    if (this.topology) return [...this.topology.neighbours(index)].sort((a, b) => a - b)
    return Array.from({ length: this.size }, (_, j) => j).filter((j) => j !== index)
  }

  /** A new link starts with a sync both ways (y-webrtc's sync step 1 on connect). */
  #syncOpened(): void {
    for (const [a, b] of this.topology?.takeOpened() ?? []) {
      this.#sync(a, b)
      this.#sync(b, a)
    }
  }

  #mark(from: number, to: number): void {
    this.#dirty.add(from * this.size + to)
    if (!this.#resyncEvent) {
      this.#resyncEvent = true
      this.sched.at(this.sched.now + this.faults.resyncMs, networkOwner - 1, () => this.#resync())
    }
  }

  /** Sends what each doc wrote (or, in a partial mesh, applied) since the last flush, merged, in node order. */
  flush(): void {
    for (let from = 0; from < this.size; from++) {
      const outbox = this.#outbox[from] as Outgoing[]
      if (outbox.length === 0) continue
      this.#outbox[from] = []
      const update = outbox.length === 1 ? (outbox[0] as Outgoing).update : Y.mergeUpdates(outbox.map((out) => out.update))
      const traces = mergeTraces(outbox.map((out) => out.traces))
      this.updatesSent++
      for (const to of this.#linksOf(from)) this.#send(from, to, update, traces)
    }
  }

  #send(from: number, to: number, update: Uint8Array, traces: Trace[]): void {
    if (!this.linkUp(from, to) || this.random() < this.faults.dropRate) return this.#mark(from, to)
    this.messagesSent++
    const delay = this.faults.minDelayMs + Math.floor(this.random() * (this.faults.maxDelayMs - this.faults.minDelayMs + 1))
    const target = this.docs[to]
    this.sched.at(this.sched.now + delay, networkOwner + to, () => {
      if (this.docs[to] !== target || !this.linkUp(from, to) || !target) return this.#mark(from, to)
      // Flooded to a doc that applied all of it already (from a neighbour that was quicker): Yjs
      // would find nothing new in it (a doc only gains content), so the simulation spares itself
      // the decoding. It was sent all the same, and counted.
      if (traces.length > 0 && this.deliveries.hasAll(to, traces)) return
      this.#incoming = { to, traces }
      try {
        Y.applyUpdate(target, update, remote)
      } finally {
        this.#incoming = null
      }
      // Traces the doc's 'update' did not forward are here now all the same (in a partial mesh:
      // content Yjs holds back until what it depends on arrives, and is sent on then).
      this.deliveries.applied(to, traces, this.sched.now)
    })
  }

  #resync(): void {
    this.#resyncEvent = false
    const links = [...this.#dirty].sort((a, b) => a - b)
    this.#dirty.clear()
    for (const link of links) {
      const from = Math.floor(link / this.size)
      const to = link % this.size
      this.#sync(from, to)
    }
  }

  /** Sends `to` what `from` has and it lacks; a link down or cut off waits for a heal or restart to mark it again. */
  #sync(from: number, to: number): void {
    const source = this.docs[from]
    const target = this.docs[to]
    if (!source || !target || !this.linkUp(from, to)) return
    const diff = Y.encodeStateAsUpdate(source, Y.encodeStateVector(target))
    if (diff.byteLength > 2) this.#send(from, to, diff, [])
  }
}

import * as Y from 'yjs'
import type { Scheduler } from './scheduler'

const remote = Symbol('sim-remote')
const networkOwner = 1_000_000

export interface NetworkFaults {
  dropRate: number
  minDelayMs: number
  maxDelayMs: number
  resyncMs: number
}

/**
 * Full-mesh links between docs carrying Yjs updates with random delays and drops. A dropped
 * message, a partition or a crash marks the link dirty; dirty links resync by state vector
 * (y-protocols' sync step 1/2) every `resyncMs`, so docs converge once links heal.
 */
export class Network {
  readonly docs: (Y.Doc | null)[] = []
  readonly #outbox: Uint8Array[][] = []
  readonly #dirty = new Set<number>()
  #group: number[] | null = null
  #resyncEvent = false
  updatesSent = 0

  constructor(
    private readonly sched: Scheduler,
    private readonly random: () => number,
    private readonly faults: NetworkFaults,
    private readonly size: number,
  ) {
    for (let i = 0; i < size; i++) {
      this.docs.push(null)
      this.#outbox.push([])
    }
  }

  /** `restarted`: the doc comes back with saved state, so every link to it resyncs. */
  attach(index: number, doc: Y.Doc, restarted: boolean): void {
    this.docs[index] = doc
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== remote && this.docs[index] === doc) (this.#outbox[index] as Uint8Array[]).push(update)
    })
    if (restarted) this.markAll(index)
  }

  detach(index: number): void {
    this.docs[index] = null
    this.#outbox[index] = []
    // What the crashed node sent to some peers but not all is only with those peers now: every
    // pair resyncs once (as y-webrtc peers do when their mesh changes), or the docs would stay
    // apart for good if the node never comes back.
    for (let i = 0; i < this.size; i++) this.markAll(i)
  }

  linkUp(from: number, to: number): boolean {
    if (!this.docs[from] || !this.docs[to]) return false
    return !this.#group || this.#group[from] === this.#group[to]
  }

  partition(group: number[] | null): void {
    this.#group = group
    if (!group) for (let i = 0; i < this.size; i++) this.markAll(i)
  }

  markAll(index: number): void {
    for (let j = 0; j < this.size; j++) {
      if (j === index) continue
      this.#mark(index, j)
      this.#mark(j, index)
    }
  }

  #mark(from: number, to: number): void {
    this.#dirty.add(from * this.size + to)
    if (!this.#resyncEvent) {
      this.#resyncEvent = true
      this.sched.at(this.sched.now + this.faults.resyncMs, networkOwner - 1, () => this.#resync())
    }
  }

  /** Sends what each doc wrote since the last flush, merged, in node order. */
  flush(): void {
    for (let from = 0; from < this.size; from++) {
      const outbox = this.#outbox[from] as Uint8Array[]
      if (outbox.length === 0) continue
      const update = outbox.length === 1 ? (outbox[0] as Uint8Array) : Y.mergeUpdates(outbox)
      this.#outbox[from] = []
      this.updatesSent++
      for (let to = 0; to < this.size; to++) if (to !== from) this.#send(from, to, update)
    }
  }

  #send(from: number, to: number, update: Uint8Array): void {
    if (!this.linkUp(from, to) || this.random() < this.faults.dropRate) return this.#mark(from, to)
    const delay = this.faults.minDelayMs + Math.floor(this.random() * (this.faults.maxDelayMs - this.faults.minDelayMs + 1))
    const target = this.docs[to]
    this.sched.at(this.sched.now + delay, networkOwner + to, () => {
      if (this.docs[to] !== target || !this.linkUp(from, to) || !target) return this.#mark(from, to)
      Y.applyUpdate(target, update, remote)
    })
  }

  #resync(): void {
    this.#resyncEvent = false
    const links = [...this.#dirty].sort((a, b) => a - b)
    this.#dirty.clear()
    for (const link of links) {
      const from = Math.floor(link / this.size)
      const to = link % this.size
      const source = this.docs[from]
      const target = this.docs[to]
      if (!source || !target || !this.linkUp(from, to)) {
        // Down or cut off: try again when it comes back (a heal or restart marks it again).
        continue
      }
      const diff = Y.encodeStateAsUpdate(source, Y.encodeStateVector(target))
      if (diff.byteLength > 2) this.#send(from, to, diff)
    }
  }
}

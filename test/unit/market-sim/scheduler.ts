import { mulberry32 } from '../../../src/shared/hash'
/** A seeded PRNG (mulberry32): the same seed gives the same run. */
export const rng = mulberry32

export interface SimEvent {
  time: number
  owner: number
  seq: number
  run: () => void
  cancelled: boolean
}

const before = (a: SimEvent, b: SimEvent) => a.time - b.time || a.owner - b.owner || a.seq - b.seq

/**
 * Virtual time: events ordered by (time, owner, owner's own sequence), so the order never
 * depends on which node's async work happened to finish first.
 */
export class Scheduler {
  now = 0
  readonly #heap: SimEvent[] = []
  readonly #seqs = new Map<number, number>()
  live = 0

  at(time: number, owner: number, run: () => void): SimEvent {
    const seq = (this.#seqs.get(owner) ?? 0) + 1
    this.#seqs.set(owner, seq)
    const event = { time: Math.max(time, this.now), owner, seq, run, cancelled: false }
    this.#push(event)
    this.live++
    return event
  }

  cancel(event: SimEvent): void {
    if (event.cancelled) return
    event.cancelled = true
    this.live--
  }

  /** Pops every event due at the earliest time, in order; empty when nothing is left. */
  nextBatch(): SimEvent[] {
    const batch: SimEvent[] = []
    let top = this.#heap[0]
    while (top?.cancelled) {
      this.#pop()
      top = this.#heap[0]
    }
    if (!top) return batch
    this.now = top.time
    while (this.#heap[0] && this.#heap[0].time === this.now) {
      const event = this.#pop()
      if (!event.cancelled) {
        event.cancelled = true
        this.live--
        batch.push(event)
      }
    }
    return batch
  }

  #push(event: SimEvent): void {
    const heap = this.#heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent] as SimEvent
      if (before(p, event) <= 0) break
      heap[i] = p
      i = parent
    }
    heap[i] = event
  }

  #pop(): SimEvent {
    const heap = this.#heap
    const top = heap[0] as SimEvent
    const last = heap.pop() as SimEvent
    if (heap.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let smallest = i
        let value = last
        if (l < heap.length && before(heap[l] as SimEvent, value) < 0) {
          smallest = l
          value = heap[l] as SimEvent
        }
        if (r < heap.length && before(heap[r] as SimEvent, value) < 0) smallest = r
        if (smallest === i) break
        heap[i] = heap[smallest] as SimEvent
        i = smallest
      }
      heap[i] = last
    }
    return top
  }
}

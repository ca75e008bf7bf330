/** One doc update a node wrote, as a message carries it: `hops` links from its writer so far. */
export interface Trace {
  id: number
  hops: number
}

interface Written {
  at: number
  reached: number
  lastAt: number
}

export interface DeliveryFigures {
  /** Per update that reached every other node: its write → applied at the last of them, virtual ms. */
  deliveryMs: number[]
  /** Per (update, node) delivery: the links by which the update first reached the node. */
  hops: number[]
  /** Updates some node never got (it was down or cut off, and a resync brought them untraced). */
  incomplete: number
}

/**
 * Follows each update a node writes through the network: when and over how many links it first
 * reaches each other node. A resync's diff carries no traces (it is the state a link missed).
 */
export class Deliveries {
  readonly #written: Written[] = []
  readonly #seen: Set<number>[] = []
  readonly #hops: number[] = []

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.#seen.push(new Set())
  }

  wrote(writer: number, now: number): Trace {
    const id = this.#written.length
    this.#written.push({ at: now, reached: 0, lastAt: now })
    ;(this.#seen[writer] as Set<number>).add(id)
    return { id, hops: 0 }
  }

  /** `node` applied a message carrying `traces` (hops as sent): the traces new to it, one hop further. */
  applied(node: number, traces: readonly Trace[], now: number): Trace[] {
    const seen = this.#seen[node] as Set<number>
    const fresh: Trace[] = []
    for (const trace of traces) {
      if (seen.has(trace.id)) continue
      seen.add(trace.id)
      const written = this.#written[trace.id] as Written
      written.reached++
      written.lastAt = now
      this.#hops.push(trace.hops + 1)
      fresh.push({ id: trace.id, hops: trace.hops + 1 })
    }
    return fresh
  }

  /** Whether `node` applied every one of these updates already. */
  hasAll(node: number, traces: readonly Trace[]): boolean {
    const seen = this.#seen[node] as Set<number>
    return traces.every((trace) => seen.has(trace.id))
  }

  /** `others`: how many nodes besides the writer should have each update. */
  figures(others: number): DeliveryFigures {
    const deliveryMs: number[] = []
    let incomplete = 0
    for (const written of this.#written) {
      if (written.reached >= others) deliveryMs.push(written.lastAt - written.at)
      else incomplete++
    }
    return { deliveryMs, hops: [...this.#hops], incomplete }
  }
}

/** Traces of merged messages: each update once, by its fewest hops. */
export function mergeTraces(lists: readonly (readonly Trace[])[]): Trace[] {
  const byId = new Map<number, number>()
  for (const list of lists) for (const { id, hops } of list) byId.set(id, Math.min(hops, byId.get(id) ?? hops))
  return [...byId].map(([id, hops]) => ({ id, hops }))
}

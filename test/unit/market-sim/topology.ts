/** y-webrtc's cap on one node's links: `maxConns = 20 + random 0–15` (y-webrtc.js). */
export const minLinkCap = 20
export const linkCapSpread = 15

/**
 * Which docs hold a WebRTC link to which, formed by y-webrtc's rule: a node that joins (or loses
 * a link) announces itself on the signaling topic, and every node that is not linked to it and
 * has fewer links than its own cap opens one; the announcing node accepts every offer. Nodes
 * fill up, so a room past the cap is a partial mesh: each node links to a bounded set.
 */
export class Topology {
  readonly #links: Set<number>[] = []
  readonly #caps: number[] = []
  readonly #up: boolean[] = []
  /** Links opened since the last `takeOpened()`: they start with a sync, as y-webrtc's do. */
  #opened: [number, number][] = []

  constructor(size: number, random: () => number) {
    for (let i = 0; i < size; i++) {
      this.#links.push(new Set())
      this.#caps.push(minLinkCap + Math.floor(random() * linkCapSpread))
      this.#up.push(false)
    }
  }

  neighbours(index: number): ReadonlySet<number> {
    return this.#links[index] as Set<number>
  }

  linked(a: number, b: number): boolean {
    return (this.#links[a] as Set<number>).has(b)
  }

  join(index: number): void {
    this.#up[index] = true
    this.#announce(index)
  }

  /** The node's links close; each far end has room again and announces itself. */
  leave(index: number): void {
    this.#up[index] = false
    const former = [...(this.#links[index] as Set<number>)].sort((a, b) => a - b)
    for (const other of former) {
      ;(this.#links[other] as Set<number>).delete(index)
      ;(this.#links[index] as Set<number>).delete(other)
    }
    for (const other of former) this.#announce(other)
  }

  takeOpened(): [number, number][] {
    const opened = this.#opened
    this.#opened = []
    return opened
  }

  #announce(index: number): void {
    const own = this.#links[index] as Set<number>
    if (own.size >= (this.#caps[index] as number)) return
    for (let other = 0; other < this.#links.length; other++) {
      if (other === index || !this.#up[other] || own.has(other)) continue
      const theirs = this.#links[other] as Set<number>
      if (theirs.size >= (this.#caps[other] as number)) continue
      own.add(other)
      theirs.add(index)
      this.#opened.push([index, other])
    }
  }

  /** Hops from `from` to every node it reaches over links (up nodes only); -1 where it does not. */
  distances(from: number): number[] {
    const distance = this.#links.map(() => -1)
    distance[from] = 0
    const queue = [from]
    for (let k = 0; k < queue.length; k++) {
      const node = queue[k] as number
      for (const next of this.#links[node] as Set<number>) {
        if (distance[next] !== -1) continue
        distance[next] = (distance[node] as number) + 1
        queue.push(next)
      }
    }
    return distance
  }

  /** Whether every up node reaches every other over links. */
  connected(): boolean {
    const first = this.#up.indexOf(true)
    if (first < 0) return true
    const distance = this.distances(first)
    return this.#up.every((up, index) => !up || (distance[index] as number) >= 0)
  }

  degrees(): number[] {
    return this.#links.filter((_, index) => this.#up[index]).map((links) => links.size)
  }
}

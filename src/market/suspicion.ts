/**
 * Suspicion of peers that claimed and did not deliver (as AI Horde suspects workers): each miss
 * adds to a node's score, which halves every `halfLifeMs`; a node at or over `threshold` is
 * suspected and passed over in awards while there is anyone else. Local to each poster: it is
 * what this node saw, not what others say.
 */
export class Suspicion {
  readonly #scores = new Map<string, { score: number; at: number }>()

  constructor(
    private readonly clock: () => number,
    readonly threshold = 1,
    readonly halfLifeMs = 5 * 60_000,
  ) {}

  add(nodeId: string, weight: number): void {
    const score = this.score(nodeId) + weight
    this.#scores.set(nodeId, { score, at: this.clock() })
    if (this.#scores.size > 4_096) this.#forgetLowest()
  }

  score(nodeId: string): number {
    const entry = this.#scores.get(nodeId)
    if (!entry) return 0
    return entry.score * 0.5 ** ((this.clock() - entry.at) / this.halfLifeMs)
  }

  suspected(nodeId: string): boolean {
    return this.score(nodeId) >= this.threshold
  }

  /** Nodes suspected now, with their scores. */
  suspects(): { nodeId: string; score: number }[] {
    const out: { nodeId: string; score: number }[] = []
    for (const nodeId of this.#scores.keys()) {
      const score = this.score(nodeId)
      if (score >= this.threshold) out.push({ nodeId, score })
    }
    return out.sort((a, b) => b.score - a.score || (a.nodeId < b.nodeId ? -1 : 1))
  }

  #forgetLowest(): void {
    const lowest = [...this.#scores.keys()].sort((a, b) => this.score(a) - this.score(b)).slice(0, 1_024)
    for (const nodeId of lowest) this.#scores.delete(nodeId)
  }
}

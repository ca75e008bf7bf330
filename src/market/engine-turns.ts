/**
 * One engine, one run at a time. When it frees up, the waiting run with the highest priority
 * goes next (ties: the one that waited longest), so an executor with a queue serves first the
 * members who gave the room more than they took (priority: their ledger balance, read when the
 * turn is given, not when the run was queued).
 */
export class EngineTurns {
  readonly #waiting: { priority: () => number; go: () => void }[] = []
  #busy = false

  /** Resolves with the release once it is this caller's turn; the release must be called once. */
  take(priority: () => number): Promise<() => void> {
    return new Promise((resolve) => {
      this.#waiting.push({ priority, go: () => resolve(this.#release()) })
      this.#next()
    })
  }

  get waiting(): number {
    return this.#waiting.length
  }

  #release(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      this.#busy = false
      this.#next()
    }
  }

  #next(): void {
    if (this.#busy || this.#waiting.length === 0) return
    let best = 0
    let bestPriority = -Infinity
    for (const [index, turn] of this.#waiting.entries()) {
      const priority = turn.priority()
      if (priority > bestPriority) {
        best = index
        bestPriority = priority
      }
    }
    const [turn] = this.#waiting.splice(best, 1)
    this.#busy = true
    turn?.go()
  }
}

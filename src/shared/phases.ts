/** One phase's figures: how often it ran, its total, and its p50/p95 over the recent samples. */
export interface PhaseFigures {
  count: number
  totalMs: number
  p50Ms: number
  p95Ms: number
}

const maxSamples = 1_024
/** Keys (entries, messages) whose marks are kept: the oldest go first. */
const maxMarkedKeys = 2_048

interface Tally {
  count: number
  totalMs: number
  /** A ring of the recent samples. */
  samples: number[]
  next: number
}

function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}

/**
 * Where the time of a hot path goes, phase by phase (sign, encode, apply, verify, …): counts,
 * totals and recent samples. Cheap enough to stay on: a bench reads it from the page.
 */
export class PhaseTimes<P extends string = string> {
  readonly #tallies = new Map<P, Tally>()
  readonly #marks = new Map<string, Record<string, number>>()

  /**
   * Notes that `key` (an entry id) reached `point` now, on the clock every tab of one machine
   * shares (performance.timeOrigin + now): a bench joins the points of one write across tabs.
   * The first time only; the last maxMarkedKeys keys are kept.
   */
  mark(key: string, point: string): void {
    let points = this.#marks.get(key)
    if (!points) {
      if (this.#marks.size >= maxMarkedKeys) this.#marks.delete(this.#marks.keys().next().value as string)
      points = {}
      this.#marks.set(key, points)
    }
    points[point] ??= performance.timeOrigin + performance.now()
  }

  /** Every kept key's points (see mark). */
  marks(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.#marks].map(([key, points]) => [key, { ...points }]))
  }

  add(phase: P, ms: number): void {
    let tally = this.#tallies.get(phase)
    if (!tally) {
      tally = { count: 0, totalMs: 0, samples: [], next: 0 }
      this.#tallies.set(phase, tally)
    }
    tally.count++
    tally.totalMs += ms
    if (tally.samples.length < maxSamples) tally.samples.push(ms)
    else tally.samples[tally.next] = ms
    tally.next = (tally.next + 1) % maxSamples
  }

  /** Runs `run` and adds its time to `phase` (a throw is timed too). */
  time<T>(phase: P, run: () => T): T {
    const started = performance.now()
    try {
      return run()
    } finally {
      this.add(phase, performance.now() - started)
    }
  }

  /** Awaits `run` and adds the time until it settles to `phase`. */
  async timeAsync<T>(phase: P, run: () => Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      return await run()
    } finally {
      this.add(phase, performance.now() - started)
    }
  }

  snapshot(): Partial<Record<P, PhaseFigures>> {
    const figures: Partial<Record<P, PhaseFigures>> = {}
    for (const [phase, tally] of this.#tallies) {
      const sorted = [...tally.samples].sort((a, b) => a - b)
      figures[phase] = { count: tally.count, totalMs: tally.totalMs, p50Ms: percentileOf(sorted, 50), p95Ms: percentileOf(sorted, 95) }
    }
    return figures
  }

  reset(): void {
    this.#tallies.clear()
    this.#marks.clear()
  }
}

/** The phases of a memory write on its way to every other tab. */
export type MemoryPhase = 'sign' | 'encode' | 'network' | 'apply' | 'verify' | 'persist' | 'render'

/** This page's memory-path figures (one per JavaScript realm: a tab, a worker, the relay). */
export const memoryPhases = new PhaseTimes<MemoryPhase>()

/** `globalThis.edgeswarmPhases`: a page's phase figures, for benches (README, "Fast at room scale"). */
export interface PhasesDebug {
  memory: {
    snapshot(): Partial<Record<MemoryPhase, PhaseFigures>>
    marks(): Record<string, Record<string, number>>
    reset(): void
  }
}

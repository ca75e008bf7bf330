import type * as Y from 'yjs'

interface Scheduled {
  /** The value that removed the verified version: put back only while it is still there. */
  trigger: unknown
  timer: ReturnType<typeof setTimeout>
  done: () => void
  finished: Promise<void>
}

/**
 * Puts verified versions back into a shared map after an unsigned or forged write removed or
 * replaced them. Each reader waits a random moment first and puts back only if the bad value is
 * still there, so in a room of n honest readers one or two write, not n.
 */
export class Restorer {
  readonly #scheduled = new Map<string, Scheduled>()
  #restored = 0
  #stopped = false

  constructor(
    private readonly map: Y.Map<unknown>,
    private readonly maxDelayMs: number,
    private readonly onError: (error: unknown) => void,
    private readonly random: () => number = Math.random,
  ) {}

  get restored(): number {
    return this.#restored
  }

  get busy(): boolean {
    return this.#scheduled.size > 0
  }

  /** Resolves once every put-back scheduled so far has run or been cancelled. */
  async settled(): Promise<void> {
    await Promise.all([...this.#scheduled.values()].map((scheduled) => scheduled.finished))
  }

  /** After a moment, puts `verified()` back at `key` if `trigger` is still what the map holds there. */
  schedule(key: string, trigger: unknown, verified: () => unknown): void {
    if (this.#stopped) return
    this.cancel(key)
    let done = (): void => undefined
    const finished = new Promise<void>((resolve) => (done = resolve))
    const timer = setTimeout(() => {
      const scheduled = this.#scheduled.get(key)
      if (scheduled?.timer !== timer) return
      this.#scheduled.delete(key)
      try {
        const value = verified()
        if (!this.#stopped && value !== undefined && this.map.get(key) === trigger && this.map.doc) {
          this.map.set(key, value)
          this.#restored++
        }
      } catch (error) {
        this.onError(error)
      }
      done()
    }, this.maxDelayMs * this.random())
    this.#scheduled.set(key, { trigger, timer, done, finished })
  }

  cancel(key: string): void {
    const scheduled = this.#scheduled.get(key)
    if (!scheduled) return
    clearTimeout(scheduled.timer)
    this.#scheduled.delete(key)
    scheduled.done()
  }

  stop(): void {
    this.#stopped = true
    for (const key of [...this.#scheduled.keys()]) this.cancel(key)
  }
}

import { Emitter, type Unsubscribe } from './events'

interface BusyEvents {
  change: readonly string[]
}

/**
 * What this tab is in the middle of (an answer streaming, a model downloading): a new version
 * waits while anything is held, so no reload cuts it off. `hold` returns the release; releasing
 * twice is harmless.
 */
export class Busy {
  readonly #events = new Emitter<BusyEvents>()
  readonly #holds = new Map<number, string>()
  #next = 0

  hold(reason: string): () => void {
    const id = this.#next++
    this.#holds.set(id, reason)
    this.#events.emit('change', this.reasons())
    return () => {
      if (this.#holds.delete(id)) this.#events.emit('change', this.reasons())
    }
  }

  /** Why this tab is busy, one entry per hold (e.g. ['answer', 'download']); empty when idle. */
  reasons(): string[] {
    return [...this.#holds.values()]
  }

  get busy(): boolean {
    return this.#holds.size > 0
  }

  on<K extends keyof BusyEvents>(event: K, listener: (payload: BusyEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }
}

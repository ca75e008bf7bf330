export type Unsubscribe = () => void
type Listener<T> = (payload: T) => void

/**
 * A typed event emitter. A listener that throws is reported to `onError` and never breaks
 * dispatch to the others.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>()

  constructor(private readonly onError: (error: unknown) => void = (error) => console.error(error)) {}

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Unsubscribe {
    let listeners = this.#listeners.get(event)
    if (!listeners) {
      listeners = new Set()
      this.#listeners.set(event, listeners)
    }
    listeners.add(listener)
    return () => listeners.delete(listener)
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const listeners = this.#listeners.get(event)
    if (!listeners) return
    for (const listener of [...listeners]) {
      try {
        ;(listener as Listener<Events[K]>)(payload)
      } catch (error) {
        this.onError(error)
      }
    }
  }

  clear(): void {
    this.#listeners.clear()
  }
}

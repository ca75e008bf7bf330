/**
 * Cuts streamed text at the first stop sequence, holding back only the tail that could still
 * begin one, so no engine ever shows a stop string, whatever its server does with `stop`.
 */
export class StopScanner {
  #pending = ''
  #stopped = false
  readonly #longest: number

  constructor(private readonly stops: readonly string[]) {
    this.#longest = Math.max(0, ...stops.map((stop) => stop.length))
  }

  get stopped(): boolean {
    return this.#stopped
  }

  /** Returns the text that is safe to emit now. */
  push(text: string): string {
    if (this.#stopped) return ''
    if (this.stops.length === 0) return text
    const buffer = this.#pending + text
    let cut = -1
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop)
      if (at !== -1 && (cut === -1 || at < cut)) cut = at
    }
    if (cut !== -1) {
      this.#stopped = true
      this.#pending = ''
      return buffer.slice(0, cut)
    }
    const keep = Math.min(buffer.length, this.#longest - 1)
    this.#pending = buffer.slice(buffer.length - keep)
    return buffer.slice(0, buffer.length - keep)
  }

  /** The held-back tail, once the stream has ended without a stop. */
  flush(): string {
    const rest = this.#stopped ? '' : this.#pending
    this.#pending = ''
    return rest
  }
}

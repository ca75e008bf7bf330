// When and where the page's one signaling connection tries next: failover over the room's
// signaling URLs (the page's own relay first), exponential backoff with full jitter, and a
// return to the preferred URL once it is up again. Pure: no sockets, no timers.

export interface BackoffOptions {
  /** The first retry's ceiling. */
  baseMs: number
  /** No retry waits longer than this. */
  capMs: number
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, capMs: 30_000 }

/** How long a page on a fallback URL waits before it tries the preferred one again: base plus a jittered backoff of its own, capped. */
export const defaultPreferredProbe: BackoffOptions = { baseMs: 10_000, capMs: 60_000 }

/**
 * Full jitter: uniform in [0, min(cap, base · 2^round)). Spreads a relay's clients apart when
 * it goes down, so they do not all come back at the same instant.
 */
export function backoffDelayMs(round: number, random: () => number, { baseMs, capMs }: BackoffOptions = defaultBackoff): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, round))
  return Math.floor(random() * ceiling)
}

/** The next try: which URL, after how long. */
export interface SignalingTry {
  url: string
  delayMs: number
}

/**
 * The failover order over `urls`. Every URL is tried once before the backoff doubles: with n
 * URLs, after f failures in a row the wait is full jitter of base · 2^⌊(f−1)/n⌋. A drop of an
 * open connection counts as one failure of that URL (the next one is tried after a short
 * jittered wait, not at once). A connection that opens resets the count.
 */
export class SignalingPlan {
  readonly urls: readonly string[]
  #index = 0
  #failures = 0
  #probes = 0

  constructor(
    urls: readonly string[],
    private readonly random: () => number = Math.random,
    private readonly backoff: BackoffOptions = defaultBackoff,
    private readonly probe: BackoffOptions = defaultPreferredProbe,
  ) {
    if (urls.length === 0) throw new RangeError('a signaling plan needs at least one URL')
    this.urls = [...new Set(urls)]
  }

  /** The URL tried now, or connected. */
  get current(): string {
    return this.urls[this.#index] ?? this.preferred
  }

  get preferred(): string {
    return this.urls[0] ?? ''
  }

  /** Failures in a row since the last connection opened. */
  get failures(): number {
    return this.#failures
  }

  /** The first try: the preferred URL, at once. */
  first(): SignalingTry {
    this.#index = 0
    return { url: this.current, delayMs: 0 }
  }

  /** The current URL could not be reached, or its connection dropped: the next URL, after a jittered wait. */
  failed(): SignalingTry {
    this.#failures += 1
    this.#index = (this.#index + 1) % this.urls.length
    const round = Math.floor((this.#failures - 1) / this.urls.length)
    return { url: this.current, delayMs: backoffDelayMs(round, this.random, this.backoff) }
  }

  /** The current URL's connection opened. */
  connected(): void {
    this.#failures = 0
    if (this.#index === 0) this.#probes = 0
  }

  /** Connected to a fallback URL: when to try the preferred one again; null when on it already. */
  nextProbe(): SignalingTry | null {
    if (this.#index === 0) return null
    const delayMs = Math.min(this.probe.capMs, this.probe.baseMs + backoffDelayMs(this.#probes, this.random, this.probe))
    this.#probes += 1
    return { url: this.preferred, delayMs }
  }

  /** A probe of the preferred URL opened: it is the current one now. */
  returned(): void {
    this.#index = 0
    this.#failures = 0
    this.#probes = 0
  }
}

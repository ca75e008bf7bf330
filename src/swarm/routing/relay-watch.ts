import type { Engine } from '../../inference/engine'
import { RelayUnavailableError } from '../../inference/relay-engine'
import type { ChatChunk, ChatRequest, EngineInfo, LoadProgress } from '../../inference/types'
import { AbortError, InferenceError, throwIfAborted } from '../../shared/errors'
import type { Timers } from '../../market'

const realTimers: Timers = { setTimeout: (callback, delayMs) => setTimeout(callback, delayMs), clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>) }

export interface RelayWatchOptions {
  /** Failures in a row (probes, and chats that could not reach the relay) that open the breaker. */
  failuresToOpen: number
  /** Between probes while the relay answers. */
  healthyProbeEveryMs: number
  /** The first retry after a failure; each further failure doubles it (up to `healthyProbeEveryMs`). */
  firstRetryMs: number
  /** How long an open breaker waits before it probes again. */
  coolDownMs: number
  /** A probe that has no answer by then is a failure. */
  probeTimeoutMs: number
  /** Injected so that a test runs on virtual time. */
  timers: Timers
}

export const relayWatchDefaults: RelayWatchOptions = { failuresToOpen: 3, healthyProbeEveryMs: 30_000, firstRetryMs: 1_000, coolDownMs: 30_000, probeTimeoutMs: 5_000, timers: realTimers }

/**
 * Where the watch stands. `idle`: not loaded yet (nothing scheduled); `unknown`: watching, the
 * relay has not answered yet; `up`: it answered last, with fewer than `failuresToOpen` failures
 * since; `open`: the breaker is open, the relay is not tried until the cool-down ends;
 * `unloaded`: stopped, nothing scheduled.
 */
export type RelayWatchState = { phase: 'idle' } | { phase: 'unknown'; failures: number; reason: string } | { phase: 'up'; failures: number } | { phase: 'open'; reason: string } | { phase: 'unloaded' }

const notAnsweredYet = 'the relay has not answered yet'

function errorOf(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

/**
 * The relay as an Engine whose availability is watched: it is probed (`load`, which asks the
 * relay's `GET /v1/models`) on a schedule, again sooner after a failure, and with a circuit
 * breaker: after `failuresToOpen` failures in a row it reports 'unavailable' and fails chats at
 * once until a probe after the cool-down succeeds. A chat that reaches the relay closes it too.
 */
export class RelayWatch implements Engine {
  readonly kind = 'relay'
  readonly #options: RelayWatchOptions
  #state: RelayWatchState = { phase: 'idle' }
  /** The next probe's timer. */
  #nextProbe: { handle: unknown } | null = null
  #probing: { promise: Promise<Error | null>; controller: AbortController } | null = null

  constructor(
    private readonly relay: Engine,
    options: Partial<RelayWatchOptions> = {},
  ) {
    this.#options = { ...relayWatchDefaults, ...options }
  }

  state(): RelayWatchState {
    return this.#state
  }

  /** Probes the relay now and keeps watching it; rejects with why it cannot be reached. */
  async load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    if (this.#state.phase === 'idle' || this.#state.phase === 'unloaded') this.#state = { phase: 'unknown', failures: 0, reason: notAnsweredYet }
    const failure = await untilAborted(this.#probe(), signal)
    if (failure) throw failure
    onProgress({ phase: 'load', loadedBytes: 0, totalBytes: 0, text: `the relay serves ${this.relay.info().modelId}` })
  }

  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
    const state = this.#state
    if (state.phase === 'unloaded') throw new InferenceError('the relay engine is unloaded')
    if (state.phase === 'open') throw new RelayUnavailableError(`${state.reason} (tried again within ${Math.ceil(this.#options.coolDownMs / 1000)} s)`)
    if (state.phase === 'idle') this.#state = { phase: 'unknown', failures: 0, reason: notAnsweredYet }
    try {
      yield* this.relay.chat(request, signal)
    } catch (error) {
      if (error instanceof RelayUnavailableError && !signal?.aborted) this.#failed(error.message)
      throw error
    }
    this.#succeeded()
  }

  info(): EngineInfo {
    const { availability: _availability, reason: _reason, ...relay } = this.relay.info()
    const state = this.#state
    if (state.phase === 'up') return { ...relay, availability: 'ready' }
    const reason = state.phase === 'unknown' || state.phase === 'open' ? state.reason : state.phase === 'idle' ? 'the relay has not been asked yet' : 'unloaded'
    return { ...relay, availability: 'unavailable', reason }
  }

  /** Stops watching (no timer or probe is left running) and unloads the relay engine. */
  async unload(): Promise<void> {
    this.#state = { phase: 'unloaded' }
    this.#stopTimer()
    this.#probing?.controller.abort()
    this.#probing = null
    await this.relay.unload()
  }

  /** One probe at a time: a probe asked for while one runs gets that one's outcome (null: it answered). */
  #probe(): Promise<Error | null> {
    if (this.#probing) return this.#probing.promise
    const controller = new AbortController()
    const probing = { controller, promise: this.#runProbe(controller) }
    this.#probing = probing
    void probing.promise.finally(() => {
      if (this.#probing === probing) this.#probing = null
    })
    return probing.promise
  }

  async #runProbe(controller: AbortController): Promise<Error | null> {
    const timeout = this.#options.timers.setTimeout(
      () => controller.abort(new RelayUnavailableError(`relay unreachable: no answer within ${this.#options.probeTimeoutMs / 1000} s`)),
      this.#options.probeTimeoutMs,
    )
    // Aborted with a RelayUnavailableError: the probe timed out; with anything else: unload stopped the watch.
    const stopped = (): boolean => controller.signal.aborted && !(controller.signal.reason instanceof RelayUnavailableError)
    try {
      await this.relay.load(() => undefined, controller.signal)
      // What a probe found after the watch stopped no longer counts.
      if (stopped()) return new AbortError('the relay watch stopped')
      this.#succeeded()
      return null
    } catch (error) {
      if (stopped()) return new AbortError('the relay watch stopped')
      const reason: unknown = controller.signal.reason
      const failure = controller.signal.aborted && reason instanceof RelayUnavailableError ? reason : errorOf(error)
      this.#failed(failure.message)
      return failure
    } finally {
      this.#options.timers.clearTimeout(timeout)
    }
  }

  #succeeded(): void {
    if (this.#state.phase === 'unloaded') return
    this.#state = { phase: 'up', failures: 0 }
    this.#probeIn(this.#options.healthyProbeEveryMs)
  }

  #failed(reason: string): void {
    const state = this.#state
    if (state.phase === 'unloaded') return
    const failures = state.phase === 'open' ? this.#options.failuresToOpen : (state.phase === 'idle' ? 0 : state.failures) + 1
    if (failures >= this.#options.failuresToOpen) {
      this.#state = { phase: 'open', reason }
      this.#probeIn(this.#options.coolDownMs)
      return
    }
    this.#state = state.phase === 'up' ? { phase: 'up', failures } : { phase: 'unknown', failures, reason }
    this.#probeIn(Math.min(this.#options.healthyProbeEveryMs, this.#options.firstRetryMs * 2 ** (failures - 1)))
  }

  #probeIn(ms: number): void {
    this.#stopTimer()
    const next = {
      handle: this.#options.timers.setTimeout(() => {
        if (this.#nextProbe === next) this.#nextProbe = null
        // The outcome is in the state, and the probe has scheduled the next one.
        void this.#probe()
      }, ms),
    }
    this.#nextProbe = next
  }

  #stopTimer(): void {
    if (this.#nextProbe) this.#options.timers.clearTimeout(this.#nextProbe.handle)
    this.#nextProbe = null
  }
}

/** `promise`, or AbortError as soon as `signal` stops (what `promise` does then is not waited for). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError('aborted'))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(errorOf(error))
      },
    )
  })
}

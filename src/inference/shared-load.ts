import { AbortError } from '../shared/errors'
import type { LoadProgress } from './types'

type Run<T> = (onProgress: (progress: LoadProgress) => void) => Promise<T>

interface Loading<T> {
  readonly promise: Promise<T>
  readonly listeners: Set<(progress: LoadProgress) => void>
  readonly last: LoadProgress | null
  readonly settled: boolean
}

/**
 * The one place that knows "a load is under way: wait for it, with its progress, or stop
 * waiting". The first `join` starts the load; later ones wait for the same one and get its
 * progress (the latest at once). A waiter's signal stops that waiter only: the load goes on for
 * the others (this tab's chat view, the other tabs it serves). A failed load is forgotten, so
 * the next `join` tries again; `reset` forgets a finished one (after an unload).
 */
export class SharedLoad<T = void> {
  #loading: Loading<T> | null = null

  constructor(private readonly run: Run<T>) {}

  /** Whether a load has started and not yet ended. */
  get underWay(): boolean {
    return this.#loading !== null && !this.#loading.settled
  }

  /** Starts the load unless one has started; resolves when it ends. */
  join(onProgress?: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<T> {
    const loading = (this.#loading ??= this.#start())
    if (!onProgress) return untilAborted(loading.promise, signal)
    loading.listeners.add(onProgress)
    if (loading.last) safely(onProgress, loading.last)
    return untilAborted(loading.promise, signal).finally(() => loading.listeners.delete(onProgress))
  }

  /** Waits for a load that is under way (a question asked while the model loads), never starts one. */
  async wait(signal?: AbortSignal): Promise<void> {
    const loading = this.#loading
    if (!loading || loading.settled) return
    await untilAborted(
      loading.promise.then(
        () => undefined,
        () => undefined,
      ),
      signal,
    )
  }

  /** Forgets the last load, so that the next `join` loads again. */
  reset(): void {
    this.#loading = null
  }

  #start(): Loading<T> {
    const listeners = new Set<(progress: LoadProgress) => void>()
    const state: { last: LoadProgress | null; settled: boolean } = { last: null, settled: false }
    const promise = Promise.resolve()
      .then(() =>
        this.run((progress) => {
          state.last = progress
          for (const listener of listeners) safely(listener, progress)
        }),
      )
      .finally(() => {
        state.settled = true
      })
    const loading: Loading<T> = {
      promise,
      listeners,
      get last() {
        return state.last
      },
      get settled() {
        return state.settled
      },
    }
    // A failed load is forgotten, so the next join starts afresh (nobody may be waiting on it).
    promise.catch(() => {
      if (this.#loading === loading) this.#loading = null
    })
    return loading
  }
}

function safely(listener: (progress: LoadProgress) => void, progress: LoadProgress): void {
  try {
    listener(progress)
  } catch (error) {
    // A progress view that throws must not fail the load for everyone else.
    console.warn('load progress listener failed', error)
  }
}

/** `promise`, or an AbortError as soon as `signal` aborts (the work behind the promise goes on). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(new AbortError('stopped while the model was loading'))
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError('stopped while the model was loading'))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

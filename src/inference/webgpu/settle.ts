import { AbortError } from '../../shared/errors'

/** Settles like `promise`, or rejects with `onTimeout()` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Settles like `promise`, or rejects with AbortError as soon as any of `signals` aborts. The
 * promise itself runs on; the caller cleans up what it started.
 */
export function unlessAborted<T>(promise: Promise<T>, signals: readonly (AbortSignal | undefined)[]): Promise<T> {
  const live = signals.filter((signal): signal is AbortSignal => signal !== undefined)
  if (live.some((signal) => signal.aborted)) return Promise.reject(new AbortError('aborted'))
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AbortError('aborted'))
    for (const signal of live) signal.addEventListener('abort', onAbort, { once: true })
  })
  return Promise.race([promise, aborted]).finally(() => {
    for (const signal of live) signal.removeEventListener('abort', onAbort)
  })
}

/** Subscribes to a failure; returns the unsubscribe function. A late subscriber hears a past failure. */
export type OnFailure = (listener: (error: Error) => void) => () => void

/** A worker and its failure: an uncaught error or unreadable message in it, or `fail` by its owner. */
export interface HostedWorker {
  worker: Worker
  onFailure: OnFailure
  /** Marks the worker failed (its owner is about to terminate it: its calls will never answer). */
  fail(error: Error): void
  /** Fails it with `error`, stops listening to it and terminates it. */
  terminate(error: Error): void
}

export function hostWorker(worker: Worker): HostedWorker {
  const listeners = new Set<(error: Error) => void>()
  let failure: Error | undefined
  const fail = (error: Error): void => {
    if (failure) return
    failure = error
    for (const listener of [...listeners]) listener(error)
    listeners.clear()
  }
  const onError = (event: Event): void => {
    const message = 'message' in event && typeof event.message === 'string' ? event.message : ''
    fail(new Error(`the WebGPU engine worker failed: ${message || `a worker ${event.type} event`}`))
  }
  worker.addEventListener('error', onError)
  worker.addEventListener('messageerror', onError)
  return {
    worker,
    onFailure: (listener) => {
      if (failure) {
        const past = failure
        queueMicrotask(() => listener(past))
        return () => {}
      }
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    fail,
    terminate: (error) => {
      fail(error)
      worker.removeEventListener('error', onError)
      worker.removeEventListener('messageerror', onError)
      worker.terminate()
    },
  }
}

/**
 * A promise that resolves with the failure; `dispose` unsubscribes, so promises raced against it
 * (one per streamed token) are freed when the caller is done rather than kept by the worker.
 */
export function failureAsPromise(onFailure: OnFailure): { promise: Promise<Error>; dispose(): void } {
  let dispose = (): void => {}
  const promise = new Promise<Error>((resolve) => {
    dispose = onFailure(resolve)
  })
  return { promise, dispose }
}

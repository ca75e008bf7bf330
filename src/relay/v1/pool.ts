import { ApiError } from './errors'
import { AbortError } from '../../shared/errors'

/** A fixed set of items lent one request at a time; callers beyond them wait in FIFO order. */
export interface Pool<T> {
  /** Lends a free item, or waits for one; rejects when the queue is full or `signal` aborts. */
  acquire(signal: AbortSignal): Promise<T>
  release(item: T): void
  active(): number
  queued(): number
}

interface Waiter<T> {
  resolve: (item: T) => void
  reject: (error: Error) => void
}

/** A pool over `items` that lets at most `maxQueue` callers wait. */
export function createPool<T>(items: readonly T[], maxQueue: number): Pool<T> {
  const free = [...items]
  const waiters: Waiter<T>[] = []
  return {
    acquire(signal) {
      if (signal.aborted) return Promise.reject(new AbortError('aborted'))
      const item = free.pop()
      if (item !== undefined) return Promise.resolve(item)
      if (waiters.length >= maxQueue) {
        return Promise.reject(new ApiError(503, `the relay's model is busy: ${waiters.length} requests are waiting; retry shortly`, 'server_error', 'overloaded', null, { 'Retry-After': '5' }))
      }
      return new Promise<T>((resolve, reject) => {
        const onAbort = (): void => {
          const index = waiters.indexOf(waiter)
          if (index >= 0) waiters.splice(index, 1)
          reject(new AbortError('aborted while queued'))
        }
        const waiter: Waiter<T> = {
          resolve: (lent) => {
            signal.removeEventListener('abort', onAbort)
            resolve(lent)
          },
          reject,
        }
        waiters.push(waiter)
        signal.addEventListener('abort', onAbort, { once: true })
      })
    },
    release(item) {
      const waiter = waiters.shift()
      if (waiter) waiter.resolve(item)
      else free.push(item)
    },
    active: () => items.length - free.length,
    queued: () => waiters.length,
  }
}

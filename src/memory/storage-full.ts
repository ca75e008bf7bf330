import { EdgeswarmError, registerError } from '../shared/errors'

/**
 * This browser refused to store more for the page (IndexedDB's QuotaExceededError). What was
 * being saved is still in the page; the message says what was not kept and what to do.
 */
export class StorageFullError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'StorageFullError'
}

const advice = "Free some space (close other sites' data, or clear this browser's storage for other sites) and it is saved with the next change."

export function isQuotaError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('name' in error)) return false
  return error.name === 'QuotaExceededError' || error.name === 'StorageFullError'
}

/** `error` as a StorageFullError that says `what` was not saved (and where it still is), when it is one; else `error` unchanged. */
export function storageError(error: unknown, what: string, kept?: string): unknown {
  if (!isQuotaError(error) || error instanceof StorageFullError) return error
  return new StorageFullError(`This browser's storage is full: ${what} could not be saved on this device${kept === undefined ? '' : `; ${kept}`}. ${advice}`)
}

/**
 * Runs a write; a quota failure comes out as a StorageFullError naming `what`. Given a
 * `streak`, only the first failure of a run of them is thrown (the user has been told; a save
 * every few seconds must not pile up notices), and the next success ends the run.
 */
export async function savingOrSay<T>(what: string, write: () => Promise<T>, options: { kept?: string; streak?: FullStreak } = {}): Promise<T | undefined> {
  try {
    const result = await write()
    if (options.streak) options.streak.full = false
    return result
  } catch (error) {
    const told = storageError(error, what, options.kept)
    if (!(told instanceof StorageFullError) || !options.streak) throw told
    if (options.streak.full) return undefined
    options.streak.full = true
    throw told
  }
}

/** Whether the last write of one kind failed for quota (see savingOrSay). */
export interface FullStreak {
  full: boolean
}

/**
 * Calls `onFull` for every write transaction of `db` that fails for quota. IndexedDB's abort
 * and error events bubble from requests and transactions up to their database, so one listener
 * here hears the failures of writes made by others (y-indexeddb's, which catch nothing).
 * Returns a stop function.
 */
export function watchQuota(db: EventTarget, what: string, onFull: (error: StorageFullError) => void): () => void {
  const listener = (event: Event): void => {
    // A failed request's error event bubbles before its transaction's abort: hear the abort only.
    if (event.type !== 'abort') return
    const error = (event.target as { error?: unknown } | null)?.error
    if (isQuotaError(error)) onFull(storageError(error, what) as StorageFullError)
  }
  db.addEventListener('abort', listener)
  return () => db.removeEventListener('abort', listener)
}

import { ModelLoadError } from '../../shared/errors'
import { integrityFailure } from '../model-integrity'

/** The text of anything thrown: WebLLM's worker sends errors across as strings ("Error: …"). */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  if (typeof error === 'string') return error.replace(/^Error: /, '')
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    return error.message
  }
  return String(error)
}

function nameOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string') return error.name
  return ''
}

/** The URL a WebLLM IntegrityError names (its message starts "Integrity verification failed for URL"); null for any other failure. */
export function integrityFailedUrl(error: unknown): string | null {
  return /Integrity verification failed for (\S+)/.exec(messageOf(error))?.[1] ?? null
}

/** Deletes `url` from WebLLM's caches (Cache Storage `webllm/*`): WebLLM caches a file before it checks it. */
export async function forgetCached(url: string): Promise<void> {
  for (const name of await caches.keys().catch((): string[] => [])) {
    if (name.startsWith('webllm')) await (await caches.open(name)).delete(url).catch(() => false)
  }
}

/** Turns a failure of WebLLM's reload into a ModelLoadError a user can act on. */
export function toModelLoadError(error: unknown): ModelLoadError {
  const message = messageOf(error)
  const failedUrl = integrityFailedUrl(error)
  if (failedUrl !== null) {
    const [expected, actual] = [/Expected: (\S+)/.exec(message)?.[1] ?? '?', /Actual: (\S+)/.exec(message)?.[1] ?? '?']
    return integrityFailure(new URL(failedUrl).pathname.split('/').pop() ?? failedUrl, `expected ${expected}, got ${actual}`)
  }
  const text = `${nameOf(error)} ${typeof error === 'string' ? error : message}`
  if (/QuotaExceeded|quota/i.test(text)) {
    return new ModelLoadError('storage quota exceeded: free space or delete other models')
  }
  if (/Failed to fetch|Cannot fetch|Unable to fetch|Request failed|NetworkError|network|received status/i.test(text)) {
    return new ModelLoadError(`model download failed: ${message}. Check the connection and reload to try again`)
  }
  return new ModelLoadError(`model failed to load: ${message}`)
}

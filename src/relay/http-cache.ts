// Validators (ETag, Last-Modified), conditional requests and byte ranges, as pure functions.

export interface FileVersion {
  sizeBytes: number
  mtimeMs: number
}

export interface ByteRange {
  start: number
  /** Inclusive, as in Content-Range. */
  end: number
}

/** A strong validator from size and modification time, as nginx makes it. */
export function etagOf(file: FileVersion): string {
  return `"${Math.floor(file.mtimeMs).toString(16)}-${file.sizeBytes.toString(16)}"`
}

export function lastModifiedOf(file: FileVersion): string {
  return new Date(file.mtimeMs).toUTCString()
}

function stripWeak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}

/** Whether a GET/HEAD may be answered 304, per If-None-Match, else If-Modified-Since. */
export function isNotModified(ifNoneMatch: string | undefined, ifModifiedSince: string | undefined, file: FileVersion): boolean {
  if (ifNoneMatch !== undefined) {
    const etag = etagOf(file)
    return ifNoneMatch
      .split(',')
      .map((tag) => tag.trim())
      .some((tag) => tag === '*' || stripWeak(tag) === etag)
  }
  if (ifModifiedSince !== undefined) {
    const sinceMs = Date.parse(ifModifiedSince)
    // HTTP dates have whole seconds.
    return !Number.isNaN(sinceMs) && Math.floor(file.mtimeMs / 1000) * 1000 <= sinceMs
  }
  return false
}

/** Whether the Range header may be honoured, per If-Range (strong ETag or exact date). */
export function ifRangeAllows(ifRange: string | undefined, file: FileVersion): boolean {
  if (ifRange === undefined) return true
  const value = ifRange.trim()
  if (value.startsWith('"')) return value === etagOf(file)
  if (value.startsWith('W/')) return false
  return value === lastModifiedOf(file)
}

const rangePattern = /^bytes=(\d*)-(\d*)$/

/**
 * Reads a single `bytes=` range. `undefined`: no usable range, send the whole file (the header
 * is absent, malformed, or asks for several ranges, which this server does not do).
 * `'unsatisfiable'`: answer 416.
 */
export function parseRange(header: string | undefined, sizeBytes: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const match = rangePattern.exec(header.trim())
  if (match === null) return undefined
  const [, rawStart = '', rawEnd = ''] = match
  if (rawStart === '' && rawEnd === '') return undefined
  if (rawStart === '') {
    const suffixBytes = Number(rawEnd)
    if (suffixBytes === 0 || sizeBytes === 0) return 'unsatisfiable'
    return { start: Math.max(0, sizeBytes - suffixBytes), end: sizeBytes - 1 }
  }
  const start = Number(rawStart)
  const end = rawEnd === '' ? sizeBytes - 1 : Math.min(Number(rawEnd), sizeBytes - 1)
  if (rawEnd !== '' && Number(rawEnd) < start) return undefined
  if (start >= sizeBytes) return 'unsatisfiable'
  return { start, end }
}

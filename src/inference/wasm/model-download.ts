import * as v from 'valibot'
import { AbortError, ModelLoadError, throwIfAborted } from '../../shared/errors'
import { Sha256, type Sha256State } from '../../shared/sha256'
import { integrityFailure, ModelIntegrityError } from '../model-integrity'

/**
 * A model download that survives a reload: each part of a GGUF is fetched once, from where the
 * last attempt stopped (HTTP Range, If-Range so a changed file starts over), and kept in OPFS
 * as segments of a few MB. Segments are written whole and closed at once: an OPFS writable
 * that is not closed is thrown away, and appending to one big file would copy it each time.
 * Once every part is complete, loading needs no network at all.
 *
 * A part with a published SHA-256 (the catalog's pins, or a link's `sha256=`) is hashed as it is
 * written; the hash state is saved with each segment, so a resumed download goes on from there
 * (or hashes the kept segments again where no state was saved). A part that does not match is
 * deleted, and so is one whose server announces another size than the published one.
 */
export const segmentBytes = 16 * 1024 * 1024
const rootName = 'edgeswarm-models'

interface PartMeta {
  url: string
  totalBytes: number
  validator: string | null
  complete: boolean
  /** The hash over exactly the segments kept, saved as each one is written. */
  hash?: Sha256State
  /** The SHA-256 of the whole part, once complete and hashed. */
  sha256?: string
}

/** What the publisher says of one file: its SHA-256 (64 hex digits) and, where known, its exact size. */
export interface PinnedFile {
  sha256: string
  bytes?: number
}

/** Pins as a worker's `configure` receives them: one per part, at most a split model's worth. */
export const PinnedFilesSchema = v.pipe(
  v.array(v.object({ sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/i)), bytes: v.exactOptional(v.pipe(v.number(), v.integer(), v.minValue(0))) })),
  v.maxLength(64),
)


export interface DownloadProgress {
  loadedBytes: number
  totalBytes: number
}

/** The URLs of every part: `x-00001-of-00003.gguf` names three, anything else one. */
export function partUrls(url: string): string[] {
  const match = /-(\d{5})-of-(\d{5})\.gguf(\?.*)?$/.exec(url)
  if (!match) return [url]
  const total = Number(match[2])
  const base = url.slice(0, match.index)
  return Array.from({ length: total }, (_, index) => `${base}-${String(index + 1).padStart(5, '0')}-of-${match[2]}.gguf${match[3] ?? ''}`)
}

function partName(url: string): string {
  return new URL(url).pathname.split('/').pop() ?? 'model.gguf'
}

async function folderName(url: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(url)))
  return Array.from(digest.slice(0, 12), (byte) => byte.toString(16).padStart(2, '0')).join('')
}

async function folderOf(url: string): Promise<FileSystemDirectoryHandle> {
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(rootName, { create: true })
  return root.getDirectoryHandle(await folderName(url), { create: true })
}

async function readMeta(folder: FileSystemDirectoryHandle): Promise<PartMeta | null> {
  try {
    return JSON.parse(await (await (await folder.getFileHandle('meta.json')).getFile()).text()) as PartMeta
  } catch {
    return null
  }
}

async function writeFile(folder: FileSystemDirectoryHandle, name: string, data: Blob | string): Promise<void> {
  const writable = await (await folder.getFileHandle(name, { create: true })).createWritable()
  await writable.write(data)
  await writable.close()
}

/** Segments already written whole, in order; stops at the first missing or short one. */
async function completeSegments(folder: FileSystemDirectoryHandle, totalBytes: number): Promise<File[]> {
  const files: File[] = []
  for (let index = 0; ; index++) {
    const expected = Math.min(segmentBytes, totalBytes - index * segmentBytes)
    if (expected <= 0) return files
    try {
      const file = await (await folder.getFileHandle(`seg-${index}`)).getFile()
      if (file.size !== expected) return files
      files.push(file)
    } catch {
      return files
    }
  }
}

async function clearFolder(folder: FileSystemDirectoryHandle): Promise<void> {
  for await (const name of folder.keys()) await folder.removeEntry(name)
}

async function removePart(url: string): Promise<void> {
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(rootName, { create: true })
  await root.removeEntry(await folderName(url), { recursive: true }).catch(() => undefined)
}

/** A hasher over `files` read in order (kept segments whose hash state was not saved). */
async function hashOf(files: readonly Blob[]): Promise<Sha256> {
  const hasher = new Sha256()
  for (const file of files) {
    const reader = file.stream().getReader()
    for (let read = await reader.read(); !read.done; read = await reader.read()) hasher.update(read.value)
  }
  return hasher
}

/** Throws (after deleting the part) unless `sha256` is the published one. */
async function checkPinned(url: string, pin: PinnedFile, sha256: string): Promise<void> {
  if (sha256 === pin.sha256.toLowerCase()) return
  await removePart(url)
  throw integrityFailure(partName(url), `expected SHA-256 ${pin.sha256.slice(0, 12)}…, got ${sha256.slice(0, 12)}…`)
}

/** The hasher to go on with after the kept segments: their saved state, else a fresh hash of them. */
async function resumedHasher(meta: PartMeta | null, segments: readonly File[], offset: number): Promise<Sha256> {
  if (meta?.hash && meta.hash.bytes === offset) {
    try {
      return Sha256.restore(meta.hash)
    } catch {
      // A state that does not read back: the kept segments are hashed again below.
    }
  }
  return hashOf(segments)
}

async function downloadPart(url: string, pin: PinnedFile | undefined, onBytes: (loaded: number, total: number) => void, signal?: AbortSignal): Promise<File> {
  const folder = await folderOf(url)
  let meta = await readMeta(folder)
  let segments = meta ? await completeSegments(folder, meta.totalBytes) : []
  if (meta?.complete && segments.length * segmentBytes >= meta.totalBytes) {
    if (pin) {
      const sha256 = meta.sha256 ?? (await hashOf(segments)).hex()
      await checkPinned(url, pin, sha256)
      if (meta.sha256 === undefined) await writeFile(folder, 'meta.json', JSON.stringify({ ...meta, sha256 }))
    }
    onBytes(meta.totalBytes, meta.totalBytes)
    return new File(segments, partName(url))
  }
  const offset = segments.reduce((sum, file) => sum + file.size, 0)
  const headers: Record<string, string> = offset > 0 && meta?.validator ? { Range: `bytes=${offset}-`, 'If-Range': meta.validator } : {}
  let response: Response
  try {
    response = await fetch(url, { headers, ...(signal ? { signal } : {}) })
  } catch (error) {
    throwIfAborted(signal)
    throw new ModelLoadError(`could not reach ${url}: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (response.status === 404) throw new ModelLoadError(`the model is not there (404): ${url}`)
  if (!response.ok || !response.body) throw new ModelLoadError(`the model server answered ${response.status} ${response.statusText} for ${url}`)
  const resumed = response.status === 206
  const totalBytes = resumed ? Number(/\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1] ?? 0) : Number(response.headers.get('content-length') ?? 0)
  if (pin?.bytes !== undefined && totalBytes > 0 && totalBytes !== pin.bytes) {
    await response.body.cancel().catch(() => undefined)
    await removePart(url)
    throw new ModelIntegrityError(`the download of ${partName(url)} is ${totalBytes} bytes where ${pin.bytes} were published; it was deleted — try again`)
  }
  const hasher = pin ? (resumed ? await resumedHasher(meta, segments, offset) : new Sha256()) : null
  if (!resumed) {
    await clearFolder(folder)
    segments = []
  }
  meta = { url, totalBytes, validator: response.headers.get('etag') ?? response.headers.get('last-modified'), complete: false }
  const base = meta
  await writeFile(folder, 'meta.json', JSON.stringify(hasher ? { ...base, hash: hasher.save() } : base))
  let loaded = resumed ? offset : 0
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return
    await writeFile(folder, `seg-${segments.length}`, new Blob(pending as BlobPart[]))
    segments.push(await (await folder.getFileHandle(`seg-${segments.length}`)).getFile())
    pending = []
    pendingBytes = 0
    // The state now covers exactly the kept segments: a reload resumes the hash from it.
    if (hasher) await writeFile(folder, 'meta.json', JSON.stringify({ ...base, hash: hasher.save() }))
  }
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      let chunk = value
      while (chunk.byteLength > 0) {
        const room = segmentBytes - pendingBytes
        const piece = chunk.subarray(0, room)
        hasher?.update(piece)
        pending.push(piece)
        pendingBytes += piece.byteLength
        chunk = chunk.subarray(room)
        if (pendingBytes === segmentBytes) await flush()
      }
      loaded += value.byteLength
      onBytes(loaded, totalBytes)
    }
    await flush()
  } catch (error) {
    if (signal?.aborted) throw new AbortError('model download stopped')
    if (error instanceof DOMException && error.name === 'QuotaExceededError') throw new ModelLoadError('storage quota exceeded while saving the model: free some space or delete other models, then reload')
    throw new ModelLoadError(`the model download broke off at ${loaded} bytes (it resumes from there): ${error instanceof Error ? error.message : String(error)}`)
  }
  const file = new File(segments, partName(url))
  if (totalBytes > 0 && file.size !== totalBytes) throw new ModelLoadError(`the model download ended early: ${file.size} of ${totalBytes} bytes`)
  const sha256 = hasher?.hex()
  if (pin && sha256 !== undefined) await checkPinned(url, pin, sha256)
  await writeFile(folder, 'meta.json', JSON.stringify({ ...meta, totalBytes: file.size, complete: true, ...(sha256 === undefined ? {} : { sha256 }) }))
  return file
}

/**
 * Every part of the model at `url` as Files, downloaded or resumed as needed; `pinned` names
 * what the publisher published of each part, in order (a part without one is not checked).
 */
export async function downloadModel(url: string, onProgress: (progress: DownloadProgress) => void, signal?: AbortSignal, pinned: readonly PinnedFile[] = []): Promise<File[]> {
  const urls = partUrls(new URL(url, location.href).href)
  const loaded = new Map<string, number>()
  const totals = new Map<string, number>()
  const report = (): void => {
    const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0)
    onProgress({ loadedBytes: sum(loaded.values()), totalBytes: totals.size === urls.length ? sum(totals.values()) : 0 })
  }
  const files: File[] = []
  for (const [index, partUrl] of urls.entries()) {
    files.push(
      await downloadPart(
        partUrl,
        pinned[index],
        (bytes, total) => {
          loaded.set(partUrl, bytes)
          totals.set(partUrl, total)
          report()
        },
        signal,
      ),
    )
  }
  return files
}

/** Deletes every model this downloader kept. */
export async function deleteDownloadedModels(): Promise<void> {
  const root = await navigator.storage.getDirectory()
  await root.removeEntry(rootName, { recursive: true }).catch(() => undefined)
}

/** Deletes what was kept of the model at `url`, every part, finished or not (a cancelled download). */
export async function deleteDownload(url: string): Promise<void> {
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(rootName, { create: true })
  for (const partUrl of partUrls(new URL(url, location.href).href)) await root.removeEntry(await folderName(partUrl), { recursive: true }).catch(() => undefined)
}

// RELAY_MODEL's file: found in the cache, or downloaded there by node-llama-cpp (resolveModelFile)
// with its progress logged and reported. The cache keeps `refs.json`, each reference with the
// file it gave, so a later start finds it without asking the network (offline too).
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import * as v from 'valibot'
import { registerError } from '../../shared/errors'
import type { Logger } from '../log'
import { ensureDataDir } from '../replica/data-dir'
import type { LlamaCpp } from './llama-cpp'
import { progressLogger, type DownloadProgress } from './progress'
import type { RemoteModel } from './ref'

/** RELAY_MODEL could not be resolved or downloaded (no such repo, quantization or file; the network). */
export class ModelDownloadError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override readonly name = 'ModelDownloadError'
}

const indexName = 'refs.json'
const IndexSchema = v.record(v.string(), v.object({ file: v.string(), bytes: v.number() }))
type Index = v.InferOutput<typeof IndexSchema>

async function readIndex(cacheDir: string): Promise<Index> {
  try {
    const parsed = v.safeParse(IndexSchema, JSON.parse(await readFile(path.join(cacheDir, indexName), 'utf8')))
    return parsed.success ? parsed.output : {}
  } catch {
    return {}
  }
}

async function writeIndex(cacheDir: string, index: Index): Promise<void> {
  const file = path.join(cacheDir, indexName)
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(index, null, 2)}\n`, { mode: 0o600 })
  await rename(temporary, file)
}

/**
 * The cached file for `ref`, when the index names one that is still there whole; one that is
 * not (cut short, replaced) is deleted so the download starts afresh. An entry naming anything
 * but a file directly in the cache is ignored.
 */
async function cachedFile(cacheDir: string, ref: string, log: Logger): Promise<string | null> {
  const entry = (await readIndex(cacheDir))[ref]
  if (entry === undefined || path.basename(entry.file) !== entry.file || entry.file.startsWith('.')) return null
  const file = path.join(cacheDir, entry.file)
  const found = await stat(file).catch(() => null)
  if (found === null) return null
  if (found.isFile() && found.size === entry.bytes) return file
  log.warn('embedded model in the cache is not whole: downloading it again', { ref, path: file, bytes: found.size, expectedBytes: entry.bytes })
  await rm(file, { force: true })
  return null
}

export interface FetchOptions {
  log: Logger
  signal: AbortSignal
  /** Each progress report while it downloads (none when the cache has it), from 0 bytes. */
  onProgress: (progress: DownloadProgress) => void
  /** A download that gets no new byte for this long fails (a server that refuses or never answers); 60 s. */
  stallMs?: number
}

/**
 * `run` with a signal that aborts on `signal` or once `stallMs` pass without `alive()` being
 * called; settles as soon as that signal aborts, whether or not `run` heeds it (node-llama-cpp's
 * downloader retries a refused connection for minutes before it looks at its signal).
 */
async function withStallGuard<T>(signal: AbortSignal, stallMs: number, stalled: () => Error, run: (signal: AbortSignal, alive: () => void) => Promise<T>): Promise<T> {
  const stall = new AbortController()
  const stop = AbortSignal.any([signal, stall.signal])
  const timer = setTimeout(() => stall.abort(stalled()), stallMs)
  let onStop = (): void => undefined
  const stopped = new Promise<never>((_resolve, reject) => {
    onStop = () => reject(stop.reason as Error)
    stop.addEventListener('abort', onStop, { once: true })
  })
  try {
    return await Promise.race([run(stop, () => timer.refresh()), stopped])
  } finally {
    clearTimeout(timer)
    stop.removeEventListener('abort', onStop)
  }
}

/** The local path of `model`: from the cache, else downloaded into it first. */
export async function fetchModel(llamaCpp: Pick<LlamaCpp, 'resolveModelFile'>, model: RemoteModel, options: FetchOptions): Promise<string> {
  const { log, signal, onProgress } = options
  const fields = { model: model.id, ref: model.ref }
  await ensureDataDir(model.cacheDir, 'the model cache')
  const cached = await cachedFile(model.cacheDir, model.ref, log)
  if (cached !== null) {
    log.info('embedded model found in the cache', { ...fields, path: cached })
    return cached
  }
  const logProgress = progressLogger(log, fields)
  const startedMs = Date.now()
  onProgress({ downloadedBytes: 0, totalBytes: 0 })
  log.info('embedded model download starting', { ...fields, cacheDir: model.cacheDir, ...(model.hfEndpoint === null ? {} : { hfEndpoint: model.hfEndpoint }) })
  const from = model.hfEndpoint !== null && model.ref.startsWith('hf:') ? ` from ${model.hfEndpoint}` : ''
  const stallMs = options.stallMs ?? 60_000
  const stalled = (): Error => new ModelDownloadError(`cannot download RELAY_MODEL=${model.ref}${from}: no data came for ${stallMs / 1000} s (is the server reachable?)`)
  let file: string
  try {
    file = await withStallGuard(signal, stallMs, stalled, (guarded, alive) => {
      let lastBytes = 0
      return llamaCpp.resolveModelFile(model.ref, {
        directory: model.cacheDir,
        cli: false,
        // A file the index does not vouch for is checked against the server's size.
        verify: true,
        signal: guarded,
        ...(model.hfEndpoint === null ? {} : { endpoints: { huggingFace: model.hfEndpoint } }),
        onProgress({ downloadedSize, totalSize }) {
          if (downloadedSize > lastBytes) alive()
          lastBytes = downloadedSize
          const progress = { downloadedBytes: downloadedSize, totalBytes: totalSize }
          onProgress(progress)
          logProgress(progress)
        },
      })
    })
  } catch (error) {
    if (signal.aborted || error instanceof ModelDownloadError) throw error
    const reason = error instanceof Error ? error.message : String(error)
    throw new ModelDownloadError(`cannot download RELAY_MODEL=${model.ref}${from}: ${reason}`)
  }
  const { size } = await stat(file)
  await writeIndex(model.cacheDir, { ...(await readIndex(model.cacheDir)), [model.ref]: { file: path.basename(file), bytes: size } })
  log.info('embedded model downloaded', { ...fields, path: file, bytes: size, ms: Date.now() - startedMs })
  return file
}

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
}

/** The local path of `model`: from the cache, else downloaded into it first. */
export async function fetchModel(llamaCpp: Pick<LlamaCpp, 'resolveModelFile'>, model: RemoteModel, { log, signal, onProgress }: FetchOptions): Promise<string> {
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
  let file: string
  try {
    file = await llamaCpp.resolveModelFile(model.ref, {
      directory: model.cacheDir,
      cli: false,
      // A file the index does not vouch for is checked against the server's size.
      verify: true,
      signal,
      ...(model.hfEndpoint === null ? {} : { endpoints: { huggingFace: model.hfEndpoint } }),
      onProgress({ downloadedSize, totalSize }) {
        const progress = { downloadedBytes: downloadedSize, totalBytes: totalSize }
        onProgress(progress)
        logProgress(progress)
      },
    })
  } catch (error) {
    if (signal.aborted) throw error
    const reason = error instanceof Error ? error.message : String(error)
    const from = model.hfEndpoint !== null && model.ref.startsWith('hf:') ? ` from ${model.hfEndpoint}` : ''
    throw new ModelDownloadError(`cannot download RELAY_MODEL=${model.ref}${from}: ${reason}`)
  }
  const { size } = await stat(file)
  await writeIndex(model.cacheDir, { ...(await readIndex(model.cacheDir)), [model.ref]: { file: path.basename(file), bytes: size } })
  log.info('embedded model downloaded', { ...fields, path: file, bytes: size, ms: Date.now() - startedMs })
  return file
}

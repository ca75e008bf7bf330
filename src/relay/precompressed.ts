// Precompressed siblings of the built app's assets: written once at build time (brotli and
// gzip beside each compressible file), served by the relay to clients that accept them. The
// micro-nets' 14 MB of ort wasm travels as about 2.6 MB of brotli.
import { createReadStream, createWriteStream, type Stats } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { constants, createBrotliCompress, createGzip } from 'node:zlib'

const compressible = new Set(['.html', '.js', '.mjs', '.css', '.json', '.wasm', '.svg', '.webmanifest', '.txt', '.xml'])
/** Below this, compressing gains less than the headers cost. */
const minBytes = 1024

/** What the relay can send, best first, and the suffix of the file that holds it. */
export const encodings = [
  { name: 'br', suffix: '.br' },
  { name: 'gzip', suffix: '.gz' },
] as const
export type Encoding = (typeof encodings)[number]['name']

export function isCompressible(filePath: string): boolean {
  return compressible.has(path.extname(filePath).toLowerCase())
}

/** The codings an Accept-Encoding header allows (q > 0), lower-cased. */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const accepted = new Set<string>()
  for (const part of (header ?? '').split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((param) => param.trim()).find((param) => param.startsWith('q='))
    if (name && (q === undefined || Number(q.slice(2)) > 0)) accepted.add(name)
  }
  return accepted
}

export interface Precompressed {
  encoding: Encoding
  filePath: string
  stats: Stats
}

/**
 * The best precompressed sibling of `filePath` the client accepts, or undefined: none, not
 * accepted, or older than the file (a stale sibling is never served).
 */
export async function findPrecompressed(filePath: string, original: Stats, acceptEncoding: string | undefined): Promise<Precompressed | undefined> {
  if (!isCompressible(filePath)) return undefined
  const accepted = acceptedEncodings(acceptEncoding)
  for (const { name, suffix } of encodings) {
    if (!accepted.has(name)) continue
    const sibling = `${filePath}${suffix}`
    const stats = await stat(sibling).catch(() => undefined)
    if (stats?.isFile() === true && stats.mtimeMs >= original.mtimeMs) return { encoding: name, filePath: sibling, stats }
  }
  return undefined
}

export interface PrecompressReport {
  files: number
  rawBytes: number
  brotliBytes: number
}

/** Writes `.br` (brotli quality 9) and `.gz` siblings of every compressible file under `dir` of at least 1 KiB. */
export async function precompressDir(dir: string): Promise<PrecompressReport> {
  const report: PrecompressReport = { files: 0, rawBytes: 0, brotliBytes: 0 }
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])
  for (const entry of entries) {
    const filePath = path.join(entry.parentPath, entry.name)
    if (!entry.isFile() || !isCompressible(filePath)) continue
    const { size } = await stat(filePath)
    if (size < minBytes) continue
    await pipeline(createReadStream(filePath), createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: size } }), createWriteStream(`${filePath}.br`))
    await pipeline(createReadStream(filePath), createGzip({ level: 9 }), createWriteStream(`${filePath}.gz`))
    report.files++
    report.rawBytes += size
    report.brotliBytes += (await stat(`${filePath}.br`)).size
  }
  return report
}

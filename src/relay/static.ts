// Serves the built app (Vite's dist/) with cross-origin isolation, validators and byte ranges.
import { createReadStream, type Stats } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { pipeline } from 'node:stream'
import { etagOf, ifRangeAllows, isNotModified, lastModifiedOf, parseRange } from './http-cache'
import { rejectUnlessGetOrHead, securityHeaders, sendBody, sendText } from './http-response'
import type { Logger } from './log'
import { findPrecompressed, isCompressible, type Precompressed } from './precompressed'

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.gguf': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.onnx': 'application/octet-stream',
}

const immutableCache = 'public, max-age=31536000, immutable'
const revalidateCache = 'no-cache'

const notBuiltPage = `<!doctype html>
<meta charset="utf-8">
<title>edgeswarm: app not built</title>
<h1>The app is not built yet</h1>
<p>The relay found no built app to serve. Run <code>npm run build</code> (or <code>npm start</code>,
which builds first), then reload this page. To serve another folder, set <code>RELAY_STATIC_DIR</code>.</p>
`

/** Returns the content type for a file name, by extension. */
export function contentTypeOf(fileName: string): string {
  return contentTypes[path.extname(fileName).toLowerCase()] ?? 'application/octet-stream'
}

/** URL path → safe path segments; undefined for anything that could leave the root or is hidden. */
function toSegments(pathname: string): string[] | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return undefined
  }
  const segments = decoded.split('/').filter((segment) => segment !== '')
  const safe = segments.every((segment) => !segment.startsWith('.') && !segment.includes('\\') && !segment.includes('\0'))
  return safe ? segments : undefined
}

async function statOrUndefined(filePath: string): Promise<Stats | undefined> {
  try {
    return await stat(filePath)
  } catch {
    return undefined
  }
}

interface FoundFile {
  filePath: string
  stats: Stats
}

async function findFile(rootReal: string, candidate: string): Promise<FoundFile | undefined> {
  let stats = await statOrUndefined(candidate)
  let filePath = candidate
  if (stats?.isDirectory() === true) {
    filePath = path.join(candidate, 'index.html')
    stats = await statOrUndefined(filePath)
  }
  if (stats?.isFile() !== true) return undefined
  // A symlink inside the folder must not lead out of it.
  const real = await realpath(filePath)
  return real.startsWith(rootReal + path.sep) ? { filePath, stats } : undefined
}

/**
 * A handler for the built app at `staticDir`: GET/HEAD only, `/assets/*` cached forever,
 * everything else revalidated, SPA fallback to index.html for extension-less paths, 503 with
 * instructions while the folder is missing.
 */
export function createStaticHandler(staticDir: string, log: Logger): (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void> {
  return async (req, res, pathname) => {
    if (rejectUnlessGetOrHead(req, res)) return
    let rootReal: string
    try {
      rootReal = await realpath(staticDir)
    } catch {
      sendBody(req, res, 503, 'text/html; charset=utf-8', notBuiltPage, { 'Cache-Control': 'no-store' })
      return
    }
    const segments = toSegments(pathname)
    if (segments === undefined) {
      sendText(req, res, 404, 'not found')
      return
    }
    const found = await findFile(rootReal, path.join(rootReal, ...segments))
    if (found !== undefined) {
      const cacheControl = segments[0] === 'assets' ? immutableCache : revalidateCache
      // A byte range is a range of the file itself: only whole responses come precompressed.
      const encoded = req.headers.range === undefined ? await findPrecompressed(found.filePath, found.stats, req.headers['accept-encoding']) : undefined
      serveFile(req, res, found, cacheControl, log, encoded)
      return
    }
    const isRoute = path.extname(segments.at(-1) ?? '') === ''
    const index = isRoute ? await findFile(rootReal, path.join(rootReal, 'index.html')) : undefined
    if (index === undefined) {
      sendText(req, res, 404, 'not found')
      return
    }
    serveFile(req, res, index, revalidateCache, log)
  }
}

/**
 * Sends `file`, or its precompressed sibling `encoded` (then the validators are the sibling's,
 * so each representation has its own ETag).
 */
function serveFile(req: IncomingMessage, res: ServerResponse, original: FoundFile, cacheControl: string, log: Logger, encoded?: Precompressed): void {
  const file = encoded ?? original
  const version = { sizeBytes: file.stats.size, mtimeMs: file.stats.mtimeMs }
  const headers = {
    ...securityHeaders,
    'Cache-Control': cacheControl,
    ETag: etagOf(version),
    'Last-Modified': lastModifiedOf(version),
    'Accept-Ranges': 'bytes',
    ...(isCompressible(original.filePath) ? { Vary: 'Accept-Encoding' } : {}),
    ...(encoded ? { 'Content-Encoding': encoded.encoding } : {}),
  }
  if (isNotModified(req.headers['if-none-match'], req.headers['if-modified-since'], version)) {
    res.writeHead(304, headers)
    res.end()
    return
  }
  const ifRange = req.headers['if-range']
  const rangeAllowed = ifRangeAllows(typeof ifRange === 'string' ? ifRange : undefined, version)
  const range = rangeAllowed ? parseRange(req.headers.range, version.sizeBytes) : undefined
  if (range === 'unsatisfiable') {
    sendText(req, res, 416, 'range not satisfiable', { 'Content-Range': `bytes */${version.sizeBytes}` })
    return
  }
  const contentType = contentTypeOf(original.filePath)
  if (range === undefined) {
    res.writeHead(200, { ...headers, 'Content-Type': contentType, 'Content-Length': version.sizeBytes })
  } else {
    res.writeHead(206, {
      ...headers,
      'Content-Type': contentType,
      'Content-Length': range.end - range.start + 1,
      'Content-Range': `bytes ${range.start}-${range.end}/${version.sizeBytes}`,
    })
  }
  if (req.method === 'HEAD' || version.sizeBytes === 0) {
    res.end()
    return
  }
  const stream = createReadStream(file.filePath, range ?? {})
  pipeline(stream, res, (error) => {
    // Mostly a client that went away mid-download; the response is already cut.
    if (error) log.debug('static stream ended early', { path: file.filePath, error })
  })
}

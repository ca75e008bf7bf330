// A stand-in for Hugging Face, as node-llama-cpp asks it: `GET /v2/<owner>/<repo>/manifests/<tag>`
// names a repo's GGUF of a quantization, `GET /<owner>/<repo>/resolve/<revision>/<file>` serves
// it (ranges too). `/files/<name>` serves a file at a plain URL. It keeps every request it saw,
// and can hold a download halfway (`hold()`) until `release()`, to watch the relay mid-download.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface StandInFile {
  owner: string
  repo: string
  /** Quantization tag of the manifest API (e.g. `Q8_0`). */
  tag: string
  /** Its name in the repo. */
  name: string
  /** The revision it is served under besides `main`. */
  revision: string
  bytes: Buffer
}

export interface SeenRequest {
  method: string
  path: string
  range: string | null
}

export interface HfStandIn {
  /** `http://127.0.0.1:PORT/` */
  url: string
  requests: SeenRequest[]
  /** Requests that sent file bytes (a GET of a file, not a HEAD). */
  fileDownloads(): SeenRequest[]
  /** Downloads from now on stop after half the file until `release()`. */
  hold(): void
  release(): void
  /** Whether a held download has sent its first half and waits. */
  holding(): boolean
  close(): Promise<void>
}

export async function startHfStandIn(files: readonly StandInFile[]): Promise<HfStandIn> {
  const requests: SeenRequest[] = []
  const sockets = new Set<Socket>()
  let held = false
  let waiting: (() => void)[] = []

  function sendFile(req: IncomingMessage, res: ServerResponse, bytes: Buffer): void {
    const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    const start = match === null ? 0 : Number(match[1])
    const end = match === null || match[2] === '' ? bytes.length - 1 : Math.min(Number(match[2]), bytes.length - 1)
    res.setHeader('Accept-Ranges', 'bytes')
    res.setHeader('Content-Type', 'application/octet-stream')
    res.setHeader('Content-Length', String(end - start + 1))
    if (match !== null) res.setHeader('Content-Range', `bytes ${start}-${end}/${bytes.length}`)
    res.writeHead(match === null ? 200 : 206)
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    const body = bytes.subarray(start, end + 1)
    if (!held) {
      res.end(body)
      return
    }
    const half = Math.floor(body.length / 2)
    res.write(body.subarray(0, half))
    waiting.push(() => res.end(body.subarray(half)))
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in')
    requests.push({ method: req.method ?? '', path: url.pathname, range: req.headers.range ?? null })
    const manifest = /^\/v2\/([^/]+)\/([^/]+)\/manifests\/([^/]+)$/.exec(url.pathname)
    if (manifest !== null && req.method === 'GET') {
      const [, owner, repo, tag] = manifest.map((part) => decodeURIComponent(part))
      const file = files.find((candidate) => candidate.owner === owner && candidate.repo === repo && candidate.tag.toLowerCase() === (tag ?? '').toLowerCase())
      if (file === undefined) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'Repository or tag not found' }))
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ggufFile: { rfilename: file.name, size: file.bytes.length } }))
      return
    }
    const resolve = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname)
    if (resolve !== null && (req.method === 'GET' || req.method === 'HEAD')) {
      const [, owner, repo, revision, name] = resolve.map((part) => decodeURIComponent(part))
      const file = files.find((candidate) => candidate.owner === owner && candidate.repo === repo && candidate.name === name && (revision === 'main' || revision === candidate.revision))
      if (file !== undefined) {
        sendFile(req, res, file.bytes)
        return
      }
    }
    const plain = /^\/files\/([^/]+)$/.exec(url.pathname)
    const plainFile = plain === null ? undefined : files.find((candidate) => candidate.name === decodeURIComponent(plain[1] ?? ''))
    if (plainFile !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      sendFile(req, res, plainFile.bytes)
      return
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Entry not found')
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  const release = (): void => {
    held = false
    const pending = waiting
    waiting = []
    for (const finish of pending) finish()
  }
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    fileDownloads: () => requests.filter((request) => request.method === 'GET' && !request.path.startsWith('/v2/')),
    hold() {
      held = true
    },
    release,
    holding: () => waiting.length > 0,
    async close() {
      release()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

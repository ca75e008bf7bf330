// A second HTTP server on its own port (so another origin than the app) that serves model files
// as a CDN does: Range requests with an ETag, CORS for any origin and a Cross-Origin-Resource-Policy
// that lets a cross-origin-isolated page use them. It counts what it was asked, so a test can
// check that nothing reached it. A file may be served with one byte changed (a tampered mirror).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface ModelServer {
  baseUrl: string
  /** `METHOD path` of every request, preflights included. */
  requests: string[]
  close(): Promise<void>
}

const corsHeaders = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Range, If-Range',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Range, ETag, Accept-Ranges',
  'Cross-Origin-Resource-Policy': 'cross-origin',
}

/** Serves `files` (path → bytes) with Range support. */
export async function startModelServer(files: Readonly<Record<string, Uint8Array>>): Promise<ModelServer> {
  const requests: string[] = []
  const sockets = new Set<Socket>()
  const serve = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    const path = new URL(incoming.url ?? '/', 'http://x').pathname
    requests.push(`${incoming.method ?? 'GET'} ${path}`)
    if (incoming.method === 'OPTIONS') return void outgoing.writeHead(204, { ...corsHeaders, 'Access-Control-Allow-Methods': 'GET, HEAD' }).end()
    const body = files[path]
    if (!body) return void outgoing.writeHead(404, corsHeaders).end()
    const etag = `"${body.byteLength}-${body[body.byteLength >> 1] ?? 0}"`
    const range = /^bytes=(\d+)-$/.exec(incoming.headers.range ?? '')
    const ifRange = incoming.headers['if-range']
    const from = range && (ifRange === undefined || ifRange === etag) ? Number(range[1]) : 0
    const headers = { ...corsHeaders, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', ETag: etag, 'Content-Length': String(body.byteLength - from) }
    if (from > 0) outgoing.writeHead(206, { ...headers, 'Content-Range': `bytes ${from}-${body.byteLength - 1}/${body.byteLength}` })
    else outgoing.writeHead(200, headers)
    outgoing.end(incoming.method === 'HEAD' ? undefined : body.subarray(from))
  }
  const server = createServer(serve)
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** `bytes` with the byte at `offset` (default: the middle) flipped: one changed byte, the same size. */
export function tampered(bytes: Uint8Array, offset = bytes.byteLength >> 1): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[offset] = (copy[offset] ?? 0) ^ 0xff
  return copy
}

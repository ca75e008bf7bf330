import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'

/**
 * On every response: cross-origin isolation (SharedArrayBuffer for the WASM engine's
 * threads) and no MIME sniffing.
 */
export const securityHeaders: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
}

/** Writes a complete small response; the body is left out for HEAD. */
export function sendBody(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string, headers: OutgoingHttpHeaders = {}): void {
  const bytes = Buffer.from(body, 'utf8')
  res.writeHead(status, {
    ...securityHeaders,
    'Content-Type': contentType,
    'Content-Length': bytes.byteLength,
    ...headers,
  })
  res.end(req.method === 'HEAD' ? undefined : bytes)
}

/** A plain-text response with `Cache-Control: no-store` unless `headers` says otherwise. */
export function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  sendBody(req, res, status, 'text/plain; charset=utf-8', `${text}\n`, { 'Cache-Control': 'no-store', ...headers })
}

/** A JSON response with `Cache-Control: no-store`. */
export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown): void {
  sendBody(req, res, status, 'application/json; charset=utf-8', JSON.stringify(value), { 'Cache-Control': 'no-store' })
}

/** 405 for anything but GET and HEAD; returns whether it answered. */
export function rejectUnlessGetOrHead(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false
  sendText(req, res, 405, 'method not allowed', { Allow: 'GET, HEAD' })
  return true
}

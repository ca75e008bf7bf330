// HTTP plumbing of /v1: CORS, the request body under its cap, JSON and error responses.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { securityHeaders } from '../http-response'
import { ApiError } from './errors'

/**
 * Headers for every /v1 response. Cross-origin callers need CORP cross-origin (the relay's
 * own pages run under COEP require-corp, and so may theirs); an allowed Origin gets CORS.
 */
export function v1Headers(req: IncomingMessage, allowedOrigins: readonly string[]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...securityHeaders, 'Cross-Origin-Resource-Policy': 'cross-origin', 'Cache-Control': 'no-store', Vary: 'Origin' }
  const origin = req.headers.origin
  if (origin !== undefined && allowedOrigins.includes(origin)) {
    headers['Access-Control-Allow-Origin'] = origin
    headers['Access-Control-Expose-Headers'] = 'Retry-After, Content-Type'
  }
  return headers
}

/** Whether a browser caller's Origin may use /v1: one configured, or the relay's own. */
export function originAllowed(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin
  if (origin === undefined || allowedOrigins.includes(origin)) return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}

const headerListPattern = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/

/** Answers a CORS preflight: 204, with the grant only for an allowed origin. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[]): void {
  const headers = v1Headers(req, allowedOrigins)
  if (headers['Access-Control-Allow-Origin'] !== undefined) {
    const requested = req.headers['access-control-request-headers'] ?? ''
    headers['Access-Control-Allow-Methods'] = 'GET, POST, OPTIONS'
    // The openai client sends its own x-stainless-* headers: grant what was asked, if well-formed.
    headers['Access-Control-Allow-Headers'] = requested.length <= 2048 && headerListPattern.test(requested) ? requested : 'Authorization, Content-Type'
    headers['Access-Control-Max-Age'] = '600'
  }
  res.writeHead(204, headers)
  res.end()
}

export function sendV1Json(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders): void {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8')
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.byteLength })
  res.end(req.method === 'HEAD' ? undefined : bytes)
}

export function sendApiError(req: IncomingMessage, res: ServerResponse, error: ApiError, headers: OutgoingHttpHeaders): void {
  const extra: OutgoingHttpHeaders = { ...error.headers }
  // A body we did not read whole: close the connection rather than read the rest.
  if (error.status === 413) extra.Connection = 'close'
  sendV1Json(req, res, error.status, error.toBody(), { ...headers, ...extra })
}

/** The request body as text, refused with 413 past `maxBytes` (by Content-Length or as read). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const tooLarge = (): ApiError => new ApiError(413, `request body is larger than ${maxBytes} bytes (RELAY_MAX_BODY_BYTES)`, 'invalid_request_error', 'request_too_large')
  const declared = Number(req.headers['content-length'] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge()
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of req) {
    const bytes = chunk as Buffer
    length += bytes.byteLength
    if (length > maxBytes) throw tooLarge()
    chunks.push(bytes)
  }
  return Buffer.concat(chunks).toString('utf8')
}

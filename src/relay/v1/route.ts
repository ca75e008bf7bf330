// One API endpoint of the relay (/v1's, and Ollama's /api), and what it gets of the request it
// answers: the caller already authenticated and admitted, the body under its cap, the backend
// for a model, and the caller's day budget. api.ts holds the table of routes and does the rest
// (CORS, the log line, metrics, errors in the route's dialect).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Backend } from './backend'

/** How a route's errors read: OpenAI's `{ error: { message, type, param, code } }` or Ollama's `{ error: "message" }`. */
export type Dialect = 'openai' | 'ollama'

export interface ChargedUsage {
  prompt_tokens: number
  completion_tokens: number
}

export interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** The path without query or trailing slash. */
  readonly pathname: string
  /** Headers every answer carries (CORP, no-store, CORS for an allowed origin). */
  readonly headers: OutgoingHttpHeaders
  /** Aborts when the client goes away before the answer ended. */
  readonly signal: AbortSignal
  /** Fields of the request's log line (model, stream, backend): never the prompt. */
  readonly entry: Record<string, unknown>
  /** The caller's key for limits (a token's hash, or the client's address group). */
  readonly caller: string
  /** The body as text: 413 past RELAY_MAX_BODY_BYTES. */
  readBody(): Promise<string>
  /** The body as JSON: 413 past the cap, 400 for malformed JSON. */
  readJson(): Promise<{ body: string; json: unknown }>
  /** The backend that serves `model`: 404 when none names it, 501 for `swarm/…` without RELAY_ROOMS, 503 with no backend. */
  pick(model: string): Backend
  /** Holds up to `tokens` of the caller's day until the request ends (429 past the budget); at most once a request. */
  reserve(tokens: number): void
  /** What the request cost, charged when it ends (settling the reservation); the last call counts. */
  charge(usage: ChargedUsage): void
  /** Milliseconds to the first streamed chunk, for the log and the metrics. */
  firstChunk(ms: number | null): void
}

export interface Route {
  /** The methods it answers; others get 405 with `Allow`. HEAD goes with GET only where listed. */
  readonly methods: readonly string[]
  /** The exact path, or a pattern for a path with a parameter (its groups reach `handle`). */
  readonly path: string | RegExp
  /** Errors in OpenAI's shape unless said otherwise. */
  readonly dialect?: Dialect
  handle(exchange: Exchange, params: readonly string[]): Promise<void>
}

/** Whether `route` answers `pathname`, with the pattern's groups; null: not this route. */
export function matchRoute(route: Route, pathname: string): string[] | null {
  if (typeof route.path === 'string') return route.path === pathname ? [] : null
  const match = route.path.exec(pathname)
  return match === null ? null : match.slice(1).map(decodedOrAsIs)
}

/** A path parameter URL-decoded; one that is not valid percent-encoding stays as it came (and names nothing). */
function decodedOrAsIs(group: string): string {
  try {
    return decodeURIComponent(group)
  } catch {
    return group
  }
}

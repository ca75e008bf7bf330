import { registerError } from '../../shared/errors'
import type { ErrorBody, ErrorType } from '../../shared/openai'

/** A /v1 failure that becomes an HTTP status and OpenAI's error shape. */
export class ApiError extends Error {
  static {
    registerError((message) => new this(500, message, 'server_error'))
  }
  override readonly name: string = 'ApiError'
  /** What only the relay's log may say (an upstream's own words, a peer's reason); null: none. */
  detail: string | null = null

  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message)
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}

/**
 * The backend could not be reached or failed (connect error, timeout, 5xx). `message` is what
 * the client reads, so it says what failed and no more; `detail` goes to the log only, with the
 * upstream's own words; `summary` is what failed in the relay's words alone, for /healthz.
 */
export class UpstreamError extends ApiError {
  static {
    registerError((message) => new this(message))
  }
  override readonly name: string = 'UpstreamError'
  readonly summary: string
  constructor(message: string, code = 'upstream_error', status = 502, detail: string | null = null, summary: string | null = null) {
    super(status, message, 'server_error', code)
    this.detail = detail
    this.summary = summary ?? message
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = 'invalid_request'): ApiError => new ApiError(400, message, 'invalid_request_error', code, param)

/** The relay is shutting down (a restart, a deploy): what was in flight ends with this, in the SSE stream when it had begun. */
export const relayRestarting = (what: string): ApiError =>
  new ApiError(503, `the relay is shutting down (a restart or a deploy): ${what}; ask again in a moment`, 'server_error', 'relay_restarting', null, { 'Retry-After': '5' })

/** 403 for a browser page of an origin RELAY_CORS_ORIGINS does not name (and not the relay's own). */
export const originNotAllowed = (origin: string | undefined): ApiError =>
  new ApiError(403, `origin ${origin ?? ''} may not call this relay (RELAY_CORS_ORIGINS)`, 'invalid_request_error', 'origin_not_allowed')

export const noBackendConfigured = (): ApiError =>
  new ApiError(
    503,
    'no model backend is configured on this relay: set RELAY_MODEL (hf:owner/repo:quant or a URL, downloaded) or RELAY_MODEL_PATH (a GGUF file run on the relay), or RELAY_UPSTREAM_URL (and RELAY_UPSTREAM_KEY) for an OpenAI-compatible server, RELAY_UPSTREAM_URLS for several',
    'server_error',
    'no_backend',
  )

export const swarmNotAvailable = (model: string): ApiError =>
  new ApiError(
    501,
    `model ${JSON.stringify(model)}: this relay joins no room; set RELAY_ROOMS (\`name\` or \`name#key\`, comma-separated) for the swarm gateway, or use a model from GET /v1/models`,
    'not_implemented',
    'swarm_gateway_unavailable',
    'model',
  )

/** Any error as an ApiError; an unknown one is a 500 that says no more than that. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  return new ApiError(500, 'internal error in the relay', 'server_error', 'internal_error')
}

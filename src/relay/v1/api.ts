// /v1: OpenAI's chat completions and models over the relay's backends, behind tokens, a rate,
// a budget and size caps. One JSON log line per request (never the prompt).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { AbortError } from '../../shared/errors'
import type { ModelList } from '../../shared/openai'
import { createSwarmBackend } from '../gateway/backend'
import type { Logger } from '../log'
import { createAccess, type Reservation } from './access'
import type { Backend, BackendDetails, BackendName, BackendState } from './backend'
import type { V1Config } from './config'
import { createEmbeddedBackend } from './embedded'
import { ApiError, noBackendConfigured, swarmNotAvailable, toApiError } from './errors'
import { answerPreflight, originAllowed, readBody, sendApiError, sendV1Json, v1Headers } from './http'
import { createMetrics, type V1Counters } from './metrics'
import { parseChatRequest, promptTokenBound } from './request'
import { chargedUsage, createMeter, respond } from './respond'
import { createUpstreamsBackend } from './upstreams'

export interface V1Health {
  backends: { name: BackendName; state: BackendState; details?: BackendDetails }[]
  v1: V1Counters
}

export interface V1Api {
  /**
   * Answers a request whose path starts with `/v1/` (or is `/v1`); `clientGroup` is the
   * client's address group, the key of its limits when no tokens are set.
   */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string, clientGroup: string): Promise<void>
  /** Whether `req` may read the relay's details: a valid token, or no tokens set. */
  authorized(req: IncomingMessage): boolean
  health(): V1Health
  /** The relay is shutting down: backends end what is in flight with a named error (Backend.stop). */
  stop(): void
  close(): Promise<void>
}

const nothingConfigured = 'no model backend is configured: set RELAY_MODEL_PATH (a GGUF file) or RELAY_UPSTREAM_URL / RELAY_UPSTREAM_URLS (OpenAI-compatible servers)'

/** Whether `model` asks for the swarm gateway (`swarm` or `swarm/<room>`). */
const isSwarmModel = (model: string): boolean => model === 'swarm' || model.startsWith('swarm/')

export function createV1Api(config: V1Config, log: Logger, backends?: readonly Backend[]): V1Api {
  const all: readonly Backend[] = backends ?? [
    ...(config.embedded ? [createEmbeddedBackend(config.embedded, log)] : []),
    ...(config.upstreams ? [createUpstreamsBackend(config.upstreams, log)] : []),
    ...(config.swarm ? [createSwarmBackend(config.swarm, log)] : []),
  ]
  const access = createAccess(config)
  const metrics = createMetrics()

  /** The backend for `model`: the one that names it, else the upstreams, which route it or answer 404. */
  function pick(model: string): Backend {
    if (isSwarmModel(model)) {
      const swarm = all.find((candidate) => candidate.name === 'swarm')
      if (swarm === undefined) throw swarmNotAvailable(model)
      return swarm
    }
    if (all.length === 0) throw noBackendConfigured()
    const backend = all.find((candidate) => candidate.serves(model)) ?? all.find((candidate) => candidate.name === 'upstream')
    if (backend === undefined) {
      throw new ApiError(404, `model ${JSON.stringify(model)} is not served here; GET /v1/models lists the models`, 'invalid_request_error', 'model_not_found', 'model')
    }
    return backend
  }

  async function listModels(req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, signal: AbortSignal): Promise<void> {
    const lists = await Promise.all(all.map((backend) => backend.models(signal)))
    const body: ModelList & { message?: string } = { object: 'list', data: lists.flat() }
    if (all.length === 0) body.message = nothingConfigured
    sendV1Json(req, res, 200, body, headers)
  }

  async function handle(req: IncomingMessage, res: ServerResponse, pathname: string, clientGroup: string): Promise<void> {
    const startedMs = Date.now()
    const headers = v1Headers(req, config.corsOrigins)
    const controller = new AbortController()
    // The client went away before the answer ended: stop the backend's work.
    res.once('close', () => {
      if (!res.writableFinished) controller.abort()
    })
    res.on('error', (error) => log.debug('v1 response error', { error }))
    const entry: Record<string, unknown> = { method: req.method, path: pathname }
    let usage = { prompt_tokens: 0, completion_tokens: 0 }
    let firstChunkMs: number | null = null
    let caller: string | null = null
    let reservation: Reservation | null = null
    try {
      if (req.method === 'OPTIONS') {
        answerPreflight(req, res, config.corsOrigins)
        return
      }
      if (!originAllowed(req, config.corsOrigins)) {
        throw new ApiError(403, `origin ${req.headers.origin ?? ''} may not call this relay (RELAY_CORS_ORIGINS)`, 'invalid_request_error', 'origin_not_allowed')
      }
      caller = access.authenticate(req, clientGroup)
      const route = `${req.method ?? ''} ${pathname.replace(/\/+$/, '')}`
      if (route === 'GET /v1/models' || route === 'HEAD /v1/models') {
        access.admit(caller)
        await listModels(req, res, headers, controller.signal)
      } else if (route === 'POST /v1/chat/completions') {
        access.admit(caller)
        const body = await readBody(req, config.maxBodyBytes)
        const request = parseChatRequest(body, config)
        entry.model = request.model
        entry.stream = request.stream === true
        const backend = pick(request.model)
        entry.backend = backend.name
        // The most this request may cost, held against the day's budget until it ends.
        reservation = access.reserve(caller, promptTokenBound(body, request) + request.max_tokens)
        const meter = createMeter()
        try {
          const answered = await respond(req, res, request, backend.chat(request, controller.signal), headers, meter)
          firstChunkMs = answered.firstChunkMs
        } finally {
          // Whatever ended it (the answer, the client leaving, the backend failing): what was served.
          usage = chargedUsage(request, meter)
        }
      } else if (pathname === '/v1/models' || pathname === '/v1/chat/completions') {
        throw new ApiError(405, `method ${req.method ?? ''} is not allowed on ${pathname}`, 'invalid_request_error', 'method_not_allowed', null, {
          Allow: pathname === '/v1/models' ? 'GET, HEAD' : 'POST',
        })
      } else {
        throw new ApiError(404, `no such endpoint: ${pathname}; this relay serves GET /v1/models and POST /v1/chat/completions`, 'invalid_request_error', 'not_found')
      }
    } catch (error) {
      if (error instanceof AbortError || controller.signal.aborted) {
        entry.aborted = true
      } else {
        const apiError = toApiError(error)
        if (apiError.status >= 500 || apiError.detail !== null) log.warn('v1 request failed', { path: pathname, error, detail: apiError.detail })
        entry.error = apiError.code
        if (!res.headersSent) sendApiError(req, res, apiError, headers)
      }
    } finally {
      if (controller.signal.aborted) entry.aborted = true
      const spent = usage.prompt_tokens + usage.completion_tokens
      if (reservation !== null) reservation.settle(spent)
      else if (caller !== null) access.spend(caller, spent)
      // Aborted streams finish with the status written; one never answered counts as 499.
      const status = res.headersSent ? res.statusCode : 499
      const latencyMs = Date.now() - startedMs
      if (req.method !== 'OPTIONS') {
        metrics.record({ status, promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, latencyMs, firstChunkMs })
      }
      log.info('v1 request', { ...entry, status, promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, latencyMs, firstChunkMs })
    }
  }

  return {
    handle,
    authorized: (req) => access.authorized(req),
    health: () => ({
      backends: all.map((backend) => {
        const details = backend.details?.()
        return details === undefined ? { name: backend.name, state: backend.state() } : { name: backend.name, state: backend.state(), details }
      }),
      v1: metrics.counters(),
    }),
    stop() {
      for (const backend of all) backend.stop?.()
    },
    async close() {
      await Promise.all(all.map((backend) => backend.close()))
    },
  }
}

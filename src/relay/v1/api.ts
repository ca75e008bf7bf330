// /v1 (OpenAI's API) and /api (Ollama's) over the relay's backends, behind tokens, a rate, a
// budget and size caps. Each endpoint is a Route (route.ts, routes/); this file finds the route,
// authenticates and admits the caller, and writes one JSON log line per request (never the prompt).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { AbortError } from '../../shared/errors'
import { createSwarmBackend } from '../gateway/backend'
import type { Logger } from '../log'
import { createAccess, type Access, type Reservation } from './access'
import type { Backend, BackendDetails, BackendName, BackendState } from './backend'
import type { V1Config } from './config'
import { createEmbeddedBackend } from './embedded'
import { createEmbeddingBackend } from './embedded-embedding'
import { ApiError, badRequest, noBackendConfigured, originNotAllowed, swarmNotAvailable, toApiError } from './errors'
import { answerPreflight, originAllowed, readBody, sendApiError, sendV1Json, v1Headers } from './http'
import { createMetrics, type V1Counters } from './metrics'
import { ollamaChatRoute } from '../ollama/chat'
import { ollamaEmbeddingsRoute, ollamaEmbedRoute } from '../ollama/embed'
import { ollamaGenerateRoute } from '../ollama/generate'
import { createModelFacts } from '../ollama/model-facts'
import { ollamaShowRoute, ollamaTagsRoute, ollamaVersionRoute } from '../ollama/models'
import { matchRoute, type ChargedUsage, type Dialect, type Exchange, type Route } from './route'
import { chatRoute } from './routes/chat'
import { completionsRoute } from './routes/completions'
import { modelRoute } from './routes/model'
import { embeddingsRoute } from './routes/embeddings'
import { modelsRoute } from './routes/models'
import { responsesRoute } from './routes/responses'
import { createUpstreamsBackend } from './upstreams'

export interface V1Health {
  backends: { name: BackendName; state: BackendState; details?: BackendDetails }[]
  v1: V1Counters
}

export interface V1Api {
  /**
   * Answers a request whose path is under `/v1` or `/api`; `clientGroup` is the client's
   * address group, the key of its limits when no tokens are set.
   */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string, clientGroup: string): Promise<void>
  /** Whether `req` may read the relay's details: a valid token, or no tokens set. Never throws. */
  authorized(req: IncomingMessage): boolean
  /** The tokens, rate and budget that guard /v1, for other entries into the backends (MCP). */
  readonly access: Access
  /** The backend for `model`, as /v1 picks it (throws the ApiError /v1 would answer). */
  pick(model: string): Backend
  readonly backends: readonly Backend[]
  health(): V1Health
  /** The relay is shutting down: backends end what is in flight with a named error (Backend.stop). */
  stop(): void
  close(): Promise<void>
}

/** Whether `model` asks for the swarm gateway (`swarm` or `swarm/<room>`). */
const isSwarmModel = (model: string): boolean => model === 'swarm' || model.startsWith('swarm/')

/** Whether `pathname` is one of the API trees this handles. */
export const isApiPath = (pathname: string): boolean => pathname === '/v1' || pathname.startsWith('/v1/') || pathname === '/api' || pathname.startsWith('/api/')

const dialectOfPath = (pathname: string): Dialect => (pathname === '/api' || pathname.startsWith('/api/') ? 'ollama' : 'openai')

function sendError(req: IncomingMessage, res: ServerResponse, error: ApiError, exchangeHeaders: Exchange['headers'], dialect: Dialect): void {
  if (dialect === 'openai') {
    sendApiError(req, res, error, exchangeHeaders)
    return
  }
  // Ollama's clients read `error` as the message.
  sendV1Json(req, res, error.status, { error: error.message }, { ...exchangeHeaders, ...error.headers, ...(error.status === 413 ? { Connection: 'close' } : {}) })
}

export function createV1Api(config: V1Config, log: Logger, backends?: readonly Backend[]): V1Api {
  const all: readonly Backend[] = backends ?? [
    ...(config.embedded ? [createEmbeddedBackend(config.embedded, log)] : []),
    ...(config.embedding ? [createEmbeddingBackend(config.embedding, log)] : []),
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

  // Each endpoint once; add a route here and in routes/.
  const ollamaFacts = createModelFacts(config, log)
  const routes: readonly Route[] = [
    modelsRoute(all),
    modelRoute(all),
    chatRoute(config),
    completionsRoute(config),
    responsesRoute(config),
    embeddingsRoute(),
    ollamaTagsRoute(all, ollamaFacts),
    ollamaShowRoute(all, ollamaFacts),
    ollamaVersionRoute(),
    ollamaChatRoute(all, config),
    ollamaGenerateRoute(all, config),
    ollamaEmbedRoute(all),
    ollamaEmbeddingsRoute(all),
  ]

  const served = (dialect: Dialect): string =>
    routes
      .filter((route) => (route.dialect ?? 'openai') === dialect)
      .map(
        (route) =>
          `${route.methods.filter((method) => method !== 'HEAD').join('/')} ${
            typeof route.path === 'string'
              ? route.path
              : route.path.source
                  .replace(/\\\//g, '/')
                  .replace(/^\^|\$$/g, '')
                  .replace(/\([^)]*\)/g, '{id}')
          }`,
      )
      .join(', ')

  function find(method: string, pathname: string): { route: Route; params: string[] } {
    const matching = routes.flatMap((route) => {
      const params = matchRoute(route, pathname)
      return params === null ? [] : [{ route, params }]
    })
    const found = matching.find(({ route }) => route.methods.includes(method))
    if (found !== undefined) return found
    if (matching.length > 0) {
      const allow = [...new Set(matching.flatMap(({ route }) => route.methods))].join(', ')
      throw new ApiError(405, `method ${method} is not allowed on ${pathname}`, 'invalid_request_error', 'method_not_allowed', null, { Allow: allow })
    }
    const dialect = dialectOfPath(pathname)
    throw new ApiError(404, `no such endpoint: ${pathname}; this relay serves ${served(dialect)}`, 'invalid_request_error', 'not_found')
  }

  async function handle(req: IncomingMessage, res: ServerResponse, rawPathname: string, clientGroup: string): Promise<void> {
    const startedMs = Date.now()
    const pathname = rawPathname.length > 1 ? rawPathname.replace(/\/+$/, '') : rawPathname
    const headers = v1Headers(req, config.corsOrigins)
    const controller = new AbortController()
    // The client went away before the answer ended: stop the backend's work.
    res.once('close', () => {
      if (!res.writableFinished) controller.abort()
    })
    res.on('error', (error) => log.debug('v1 response error', { error }))
    const entry: Record<string, unknown> = { method: req.method, path: pathname }
    let usage: ChargedUsage = { prompt_tokens: 0, completion_tokens: 0 }
    let firstChunkMs: number | null = null
    let caller: string | null = null
    let reservation: Reservation | null = null
    let dialect = dialectOfPath(pathname)
    try {
      if (req.method === 'OPTIONS') {
        answerPreflight(req, res, config.corsOrigins)
        return
      }
      if (!originAllowed(req, config.corsOrigins)) {
        throw originNotAllowed(req.headers.origin)
      }
      const authenticated = access.authenticate(req, clientGroup)
      caller = authenticated
      const { route, params } = find(req.method ?? '', pathname)
      dialect = route.dialect ?? 'openai'
      access.admit(authenticated)
      const exchange: Exchange = {
        req,
        res,
        pathname,
        headers,
        signal: controller.signal,
        entry,
        caller: authenticated,
        readBody: () => readBody(req, config.maxBodyBytes),
        async readJson() {
          const body = await readBody(req, config.maxBodyBytes)
          try {
            return { body, json: JSON.parse(body) as unknown }
          } catch (error) {
            throw badRequest(`malformed JSON in the request body: ${error instanceof Error ? error.message : String(error)}`, null, 'invalid_json')
          }
        },
        pick,
        reserve(tokens) {
          if (reservation !== null) throw new Error('a request reserves its budget once')
          reservation = access.reserve(authenticated, tokens)
        },
        charge(spent) {
          usage = spent
        },
        firstChunk(ms) {
          firstChunkMs = ms
        },
      }
      await route.handle(exchange, params)
    } catch (error) {
      if (error instanceof AbortError || controller.signal.aborted) {
        entry.aborted = true
      } else {
        const apiError = toApiError(error)
        if (apiError.status >= 500 || apiError.detail !== null) log.warn('v1 request failed', { path: pathname, error, detail: apiError.detail })
        entry.error = apiError.code
        if (!res.headersSent) sendError(req, res, apiError, headers, dialect)
      }
    } finally {
      if (controller.signal.aborted) entry.aborted = true
      const spent = usage.prompt_tokens + usage.completion_tokens
      // A reservation is settled here, whatever the route did.
      const held = reservation as Reservation | null
      if (held !== null) held.settle(spent)
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
    access,
    pick,
    backends: all,
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

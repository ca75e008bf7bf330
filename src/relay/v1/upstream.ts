// The upstream backend: any OpenAI-compatible server (vLLM, Ollama, llama-server, OpenAI, or
// another relay). Always streams from it, so tokens are counted and a client that goes away
// cancels the upstream request with its connection.
import * as v from 'valibot'
import { ChatCompletionChunkSchema, ErrorBodySchema, ModelListSchema, type ChatCompletionChunk, type ModelInfo } from '../../shared/openai'
import { AbortError } from '../../shared/errors'
import { readSseData } from '../../shared/sse'
import type { Logger } from '../log'
import type { Backend, BackendRequest, BackendState } from './backend'
import type { V1Config } from './config'
import { ApiError, UpstreamError } from './errors'

type UpstreamConfig = NonNullable<V1Config['upstream']>

const connectErrorCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])
const retryDelayMs = 200
const maxErrorBodyChars = 4096

/** The code of a fetch failure's cause (undici wraps the socket error in a TypeError). */
function causeCode(error: unknown): string | null {
  if (!(error instanceof Error)) return null
  const cause: unknown = error.cause
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') return cause.code
  return null
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Said to clients instead of the upstream's own words, which stay in the relay's log. */
const seeTheLog = "the relay's log has the details"

/** An upstream answer that is not 2xx, as the error our client sees. */
async function upstreamRefusal(response: Response): Promise<ApiError> {
  const text = (await response.text().catch(() => '')).slice(0, maxErrorBodyChars)
  let detail = text.trim()
  let upstreamCode: string | null = null
  try {
    const parsed = v.safeParse(ErrorBodySchema, JSON.parse(text))
    if (parsed.success) {
      detail = parsed.output.error.message
      const code: unknown = parsed.output.error.code
      // A machine-readable code (context_length_exceeded) tells the client what to change.
      if (typeof code === 'string' && /^[a-z0-9_]{1,64}$/.test(code)) upstreamCode = code
    }
  } catch {
    // Not JSON: the text itself says what went wrong.
  }
  const fullDetail = `upstream answered ${response.status}: ${detail || response.statusText}`
  // The client's request was at fault: it gets the upstream's status. Anything else (our key,
  // the upstream's own failure) is a bad gateway for the client.
  if ([400, 404, 413, 422, 429].includes(response.status)) {
    const retryAfter = response.headers.get('retry-after')
    const what = upstreamCode === null ? String(response.status) : `${response.status} ${upstreamCode}`
    const refusal = new ApiError(
      response.status,
      `the upstream model server refused this request (${what}); ${seeTheLog}`,
      response.status === 429 ? 'rate_limit_error' : 'invalid_request_error',
      'upstream_refused',
      null,
      retryAfter ? { 'Retry-After': retryAfter } : {},
    )
    refusal.detail = fullDetail
    return refusal
  }
  return new UpstreamError(`the upstream model server failed (${response.status}); ${seeTheLog}`, 'upstream_error', 502, fullDetail)
}

export function createUpstreamBackend(config: UpstreamConfig, log: Logger): Backend {
  let listed = new Set<string>()
  let lastFailure: string | null = null
  let active = 0
  let closed = false
  const headers: Readonly<Record<string, string>> = {
    'Content-Type': 'application/json',
    Accept: 'text/event-stream, application/json',
    ...(config.key === null ? {} : { Authorization: `Bearer ${config.key}` }),
  }

  /** Fetches with retries on connect errors: those fail before any byte of the request left. */
  async function fetchWithRetry(url: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const response = await fetch(url, { ...init, signal })
        lastFailure = null
        return response
      } catch (error) {
        if (signal.aborted) throw error
        const code = causeCode(error)
        const reason = `cannot reach the upstream ${config.url}: ${code ?? (error instanceof Error ? error.message : String(error))}`
        if (code === null || !connectErrorCodes.has(code) || attempt >= config.retries) {
          lastFailure = reason
          throw new UpstreamError(`the upstream model server cannot be reached; ${seeTheLog}`, 'upstream_unreachable', 502, reason)
        }
        log.warn('upstream connect failed, retrying', { code, attempt: attempt + 1 })
        await sleep(retryDelayMs * (attempt + 1), signal)
      }
    }
  }

  async function* chat(request: BackendRequest, clientSignal: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
    if (closed) throw new ApiError(503, 'the upstream backend is closed: the relay is shutting down', 'server_error', 'backend_closed')
    const controller = new AbortController()
    const timeout = { fired: false }
    const onClientAbort = (): void => controller.abort()
    clientSignal.addEventListener('abort', onClientAbort, { once: true })
    const body: Record<string, unknown> = { ...request, stream: true, stream_options: { include_usage: true } }
    if (request.max_completion_tokens != null) delete body.max_tokens
    // Counts from the request, then starts over with each event: the limit is on silence.
    const timer = setTimeout(() => {
      timeout.fired = true
      controller.abort()
    }, config.timeoutMs)
    active += 1
    try {
      const response = await fetchWithRetry(`${config.url}/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) }, controller.signal)
      if (!response.ok) throw await upstreamRefusal(response)
      if (response.body === null) throw new UpstreamError(`the upstream model server answered with no body; ${seeTheLog}`)
      for await (const data of readSseData(response.body)) {
        timer.refresh()
        if (data === '[DONE]') return
        const parsed = v.safeParse(ChatCompletionChunkSchema, JSON.parse(data))
        if (!parsed.success) {
          const failure = v.safeParse(ErrorBodySchema, JSON.parse(data))
          throw new UpstreamError(
            `the upstream model server failed mid-answer; ${seeTheLog}`,
            'upstream_error',
            502,
            failure.success ? `upstream failed: ${failure.output.error.message}` : `upstream sent a chunk that is not a chat.completion.chunk: ${data.slice(0, 200)}`,
          )
        }
        // Unknown fields (reasoning_content, system_fingerprint) pass through as they came.
        yield parsed.output as ChatCompletionChunk
      }
    } catch (error) {
      if (clientSignal.aborted) throw new AbortError('client went away')
      if (timeout.fired) throw new UpstreamError(`the upstream model server sent nothing for ${config.timeoutMs} ms`, 'upstream_timeout', 504)
      if (error instanceof ApiError) throw error
      if (error instanceof SyntaxError) throw new UpstreamError(`the upstream model server sent data that is not JSON; ${seeTheLog}`, 'upstream_error', 502, error.message)
      throw new UpstreamError(`the upstream model server's stream broke; ${seeTheLog}`, 'upstream_error', 502, `upstream stream broke: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      active -= 1
      clearTimeout(timer)
      clientSignal.removeEventListener('abort', onClientAbort)
      // Ends the upstream request if it is still open (the client left, or we stopped reading).
      controller.abort()
    }
  }

  return {
    name: 'upstream',
    serves: (model) => listed.has(model),
    async models(signal) {
      const timeout = AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)])
      try {
        const response = await fetchWithRetry(`${config.url}/models`, { headers }, timeout)
        if (!response.ok) throw await upstreamRefusal(response)
        const parsed = v.parse(ModelListSchema, await response.json())
        listed = new Set(parsed.data.map((model) => model.id))
        return parsed.data.map((model): ModelInfo => ({
          id: model.id,
          object: 'model',
          created: model.created ?? 0,
          owned_by: model.owned_by ?? 'upstream',
          ...(model.max_model_len === undefined ? {} : { max_model_len: model.max_model_len }),
        }))
      } catch (error) {
        lastFailure = error instanceof Error ? error.message : String(error)
        log.warn('upstream model list failed', { error })
        return []
      }
    },
    chat,
    state: (): BackendState => (closed ? { state: 'unreachable', reason: 'closed' } : lastFailure === null ? { state: 'ready', active, queued: 0 } : { state: 'unreachable', reason: lastFailure }),
    /** Later chats fail with 503; answers under way run to their end. */
    close: () => {
      closed = true
      return Promise.resolve()
    },
  }
}

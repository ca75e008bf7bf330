// One OpenAI-compatible server (vLLM, Ollama, llama-server, OpenAI, or another relay) as the
// upstreams backend (./upstreams.ts) reaches it. Always streams from it, so tokens are counted
// and a client that goes away cancels the upstream request with its connection. Everything it
// reads from the upstream is bounded: error bodies, the model list, each event, the silence.
import * as v from 'valibot'
import { EmbeddingsResponseSchema, vectorsProblem } from '../../shared/embeddings'
import { ChatCompletionChunkSchema, ErrorBodySchema, ModelListSchema, TextCompletionChunkSchema, type ChatCompletionChunk, type ModelInfo, type TextCompletionChunk } from '../../shared/openai'
import { AbortError } from '../../shared/errors'
import { readSseData } from '../../shared/sse'
import type { Logger } from '../log'
import type { BackendRequest, CompletionBackendRequest, EmbeddingBackendRequest, Embeddings } from './backend'
import { ApiError, UpstreamError } from './errors'
import type { UpstreamsConfig, UpstreamTarget } from './upstream-config'

/** One upstream's requests. Both methods throw UpstreamError when it fails, ApiError when it refuses. */
export interface UpstreamClient {
  readonly target: UpstreamTarget
  /** `retries`: connect retries before giving up (none when another upstream can take the request). */
  chat(request: BackendRequest, signal: AbortSignal, retries?: number): AsyncGenerator<ChatCompletionChunk>
  /** POST /completions, streamed; `extra` and the sampling fields go as the client sent them. */
  complete(request: CompletionBackendRequest, signal: AbortSignal, retries?: number): AsyncGenerator<TextCompletionChunk>
  listModels(signal: AbortSignal): Promise<ModelInfo[]>
  /** Its `POST /embeddings`, the answer checked: one finite vector per text, all of one width. */
  embed(request: EmbeddingBackendRequest, signal: AbortSignal, retries?: number): Promise<Embeddings>
  /** Chats under way. */
  active(): number
}

export type UpstreamTimings = Pick<UpstreamsConfig, 'timeoutMs' | 'retries'>

const connectErrorCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])
const retryDelayMs = 200
const maxErrorBodyBytes = 4096
/** A model list longer than this is not one (a hostile or broken upstream). */
const maxModelListBytes = 4 * 1024 * 1024
/** An embeddings answer longer than this is not one: 2048 texts × 3072 floats as JSON is about 130 MB. */
const maxEmbeddingsBytes = 160 * 1024 * 1024

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

/** Up to `maxBytes` of a body as text; the rest is not read (leaving the loop cancels it). */
async function readCapped(response: Response, maxBytes: number): Promise<{ text: string; complete: boolean }> {
  if (response.body === null) return { text: '', complete: true }
  const body: AsyncIterable<Uint8Array> = response.body
  const parts: Uint8Array[] = []
  let length = 0
  for await (const part of body) {
    parts.push(part)
    length += part.byteLength
    if (length > maxBytes) return { text: Buffer.concat(parts).subarray(0, maxBytes).toString('utf8'), complete: false }
  }
  return { text: Buffer.concat(parts).toString('utf8'), complete: true }
}

/** Said to clients instead of the upstream's own words, which stay in the relay's log. */
const seeTheLog = "the relay's log has the details"

/** An upstream answer that is not 2xx, as the error our client sees. */
async function upstreamRefusal(response: Response): Promise<ApiError> {
  const { text } = await readCapped(response, maxErrorBodyBytes).catch(() => ({ text: '' }))
  let detail = text.trim()
  let upstreamCode: string | null = null
  let upstreamParam: string | null = null
  try {
    const parsed = v.safeParse(ErrorBodySchema, JSON.parse(text))
    if (parsed.success) {
      detail = parsed.output.error.message
      const { code, param } = parsed.output.error
      // A machine-readable code (context_length_exceeded) and the field it is about tell the client what to change.
      if (typeof code === 'string' && /^[a-z0-9_]{1,64}$/.test(code)) upstreamCode = code
      if (typeof param === 'string' && /^[A-Za-z0-9_.[\]]{1,64}$/.test(param)) upstreamParam = param
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
      upstreamParam,
      retryAfter ? { 'Retry-After': retryAfter } : {},
    )
    refusal.detail = fullDetail
    return refusal
  }
  return new UpstreamError(`the upstream model server failed (${response.status}); ${seeTheLog}`, 'upstream_error', 502, fullDetail, `answered ${response.status}`)
}

/** How the events of a stream are checked: a chunk of this kind (and whether it ends the answer), or null. */
interface ChunkKind<T> {
  name: string
  parse(json: unknown): { chunk: T; finished: boolean } | null
}

/** A chunk checked against `schema`; unknown fields (reasoning_content, system_fingerprint) pass through as they came. */
function chunkKind<T>(name: string, schema: v.GenericSchema<unknown, { choices: { finish_reason: string | null }[] }>): ChunkKind<T> {
  return {
    name,
    parse(json) {
      const parsed = v.safeParse(schema, json)
      if (!parsed.success) return null
      // The schema checked what the relay reads of it; the rest is as the upstream sent it.
      return { chunk: parsed.output as T, finished: parsed.output.choices.some((choice) => choice.finish_reason != null) }
    },
  }
}

const chatChunks = chunkKind<ChatCompletionChunk>('chat.completion.chunk', ChatCompletionChunkSchema)
const textChunks = chunkKind<TextCompletionChunk>('text_completion chunk', TextCompletionChunkSchema)

export function createUpstreamClient(target: UpstreamTarget, timings: UpstreamTimings, log: Logger): UpstreamClient {
  let active = 0
  const headers: Readonly<Record<string, string>> = {
    'Content-Type': 'application/json',
    Accept: 'text/event-stream, application/json',
    ...(target.key === null ? {} : { Authorization: `Bearer ${target.key}` }),
  }

  /** Fetches with retries on connect errors: those fail before any byte of the request left. */
  async function fetchWithRetry(url: string, init: RequestInit, signal: AbortSignal, retries: number): Promise<Response> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await fetch(url, { ...init, signal })
      } catch (error) {
        if (signal.aborted) throw error
        const code = causeCode(error)
        const reason = `cannot reach the upstream ${target.url}: ${code ?? (error instanceof Error ? error.message : String(error))}`
        if (code === null || !connectErrorCodes.has(code) || attempt >= retries) {
          throw new UpstreamError(`the upstream model server cannot be reached; ${seeTheLog}`, 'upstream_unreachable', 502, reason, reason)
        }
        log.warn('upstream connect failed, retrying', { url: target.url, code, attempt: attempt + 1 })
        await sleep(retryDelayMs * (attempt + 1), signal)
      }
    }
  }

  function chat(request: BackendRequest, clientSignal: AbortSignal, retries = timings.retries): AsyncGenerator<ChatCompletionChunk> {
    const body: Record<string, unknown> = { ...request, stream: true, stream_options: { include_usage: true } }
    if (request.max_completion_tokens != null) delete body.max_tokens
    return streamFrom('/chat/completions', body, chatChunks, clientSignal, retries)
  }

  function complete(request: CompletionBackendRequest, clientSignal: AbortSignal, retries = timings.retries): AsyncGenerator<TextCompletionChunk> {
    const { sampling, extra, stop, ...fields } = request
    const body: Record<string, unknown> = { ...extra, ...fields, ...sampling, ...(stop.length === 0 ? {} : { stop }), stream: true, stream_options: { include_usage: true } }
    return streamFrom('/completions', body, textChunks, clientSignal, retries)
  }

  /** Streams `body` from the upstream's `path`, each event checked as `kind` says. */
  async function* streamFrom<T>(path: string, body: Record<string, unknown>, kind: ChunkKind<T>, clientSignal: AbortSignal, retries: number): AsyncGenerator<T> {
    const controller = new AbortController()
    const timeout = { fired: false }
    const onClientAbort = (): void => controller.abort()
    clientSignal.addEventListener('abort', onClientAbort, { once: true })
    // Counts from the request, then starts over with each event: the limit is on silence.
    const timer = setTimeout(() => {
      timeout.fired = true
      controller.abort()
    }, timings.timeoutMs)
    active += 1
    try {
      const response = await fetchWithRetry(`${target.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) }, controller.signal, retries)
      if (!response.ok) throw await upstreamRefusal(response)
      if (response.body === null) throw new UpstreamError(`the upstream model server answered with no body; ${seeTheLog}`, 'upstream_error', 502, null, 'answered with no body')
      let finished = false
      for await (const data of readSseData(response.body)) {
        timer.refresh()
        if (data === '[DONE]') return
        const parsed = kind.parse(JSON.parse(data))
        if (parsed === null) {
          const failure = v.safeParse(ErrorBodySchema, JSON.parse(data))
          throw new UpstreamError(
            `the upstream model server failed mid-answer; ${seeTheLog}`,
            'upstream_error',
            502,
            failure.success ? `upstream failed: ${failure.output.error.message}` : `upstream sent a chunk that is not a ${kind.name}: ${data.slice(0, 200)}`,
            failure.success ? 'sent an error mid-answer' : `sent a chunk that is not a ${kind.name}`,
          )
        }
        if (parsed.finished) finished = true
        yield parsed.chunk
      }
      // A body that ends with neither [DONE] nor a finish reason was cut (or was never a stream).
      if (!finished)
        throw new UpstreamError(
          `the upstream model server's stream ended before the answer did; ${seeTheLog}`,
          'upstream_error',
          502,
          `upstream ${target.url}: the stream ended with no [DONE] and no finish reason`,
          'ended its stream with no [DONE] and no finish reason',
        )
    } catch (error) {
      if (clientSignal.aborted) throw new AbortError('client went away')
      if (timeout.fired) throw new UpstreamError(`the upstream model server sent nothing for ${timings.timeoutMs} ms`, 'upstream_timeout', 504, null, `silent for ${timings.timeoutMs} ms`)
      if (error instanceof ApiError) throw error
      if (error instanceof SyntaxError)
        throw new UpstreamError(`the upstream model server sent data that is not JSON; ${seeTheLog}`, 'upstream_error', 502, `upstream ${target.url}: ${error.message}`, 'sent data that is not JSON')
      const broke = `stream broke: ${error instanceof Error ? error.message : String(error)}`
      throw new UpstreamError(`the upstream model server's stream broke; ${seeTheLog}`, 'upstream_error', 502, `upstream ${target.url}: ${broke}`, broke)
    } finally {
      active -= 1
      clearTimeout(timer)
      clientSignal.removeEventListener('abort', onClientAbort)
      // Ends the upstream request if it is still open (the client left, or we stopped reading).
      controller.abort()
    }
  }

  async function listModels(signal: AbortSignal): Promise<ModelInfo[]> {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(timings.timeoutMs)])
    try {
      const response = await fetchWithRetry(`${target.url}/models`, { headers }, timeout, timings.retries)
      if (!response.ok) throw await upstreamRefusal(response)
      const { text, complete } = await readCapped(response, maxModelListBytes)
      if (!complete) {
        const tooLong = `sent a model list over ${maxModelListBytes} bytes`
        throw new UpstreamError(`the upstream's model list is too long; ${seeTheLog}`, 'upstream_error', 502, `upstream ${target.url}: ${tooLong}`, tooLong)
      }
      const parsed = v.safeParse(ModelListSchema, JSON.parse(text))
      if (!parsed.success)
        throw new UpstreamError(
          `the upstream's model list is not one; ${seeTheLog}`,
          'upstream_error',
          502,
          `upstream ${target.url}: ${v.summarize(parsed.issues)}`,
          'sent a model list that is not one',
        )
      return parsed.output.data.map((model): ModelInfo => ({
        id: model.id,
        object: 'model',
        created: model.created ?? 0,
        owned_by: model.owned_by ?? 'upstream',
        ...(model.max_model_len === undefined ? {} : { max_model_len: model.max_model_len }),
      }))
    } catch (error) {
      if (signal.aborted) throw new AbortError('the model list was no longer wanted')
      if (error instanceof ApiError) throw error
      // A SyntaxError quotes the data: the log may have it, /healthz not.
      const why = timeout.aborted ? `silent for ${timings.timeoutMs} ms` : error instanceof SyntaxError ? 'not JSON' : error instanceof Error ? error.message : String(error)
      const detail = error instanceof Error && !timeout.aborted ? error.message : why
      throw new UpstreamError(`the upstream's model list failed; ${seeTheLog}`, 'upstream_error', 502, `upstream ${target.url}: model list: ${detail}`, `model list: ${why}`)
    }
  }

  async function embed(request: EmbeddingBackendRequest, signal: AbortSignal, retries = timings.retries): Promise<Embeddings> {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(timings.timeoutMs)])
    const broken = (what: string): UpstreamError =>
      new UpstreamError(`the upstream's embeddings are not usable; ${seeTheLog}`, 'upstream_error', 502, `upstream ${target.url}: embeddings: ${what}`, `embeddings: ${what}`)
    active += 1
    try {
      const body = JSON.stringify({ model: request.model, input: request.input, encoding_format: 'float' })
      const response = await fetchWithRetry(`${target.url}/embeddings`, { method: 'POST', headers, body }, timeout, retries)
      if (!response.ok) throw await upstreamRefusal(response)
      const { text, complete } = await readCapped(response, maxEmbeddingsBytes)
      if (!complete) throw broken(`an answer over ${maxEmbeddingsBytes} bytes`)
      const parsed = v.safeParse(EmbeddingsResponseSchema, JSON.parse(text))
      if (!parsed.success) throw broken(`not an embeddings list: ${v.summarize(parsed.issues)}`)
      const byIndex = [...parsed.output.data].sort((a, b) => a.index - b.index)
      if (byIndex.some((item, index) => item.index !== index)) throw broken('its indexes are not 0 to n - 1')
      const vectors = byIndex.map((item) => item.embedding)
      const problem = vectorsProblem(vectors, request.input.length)
      if (problem !== null) throw broken(problem)
      return { model: parsed.output.model ?? request.model, vectors, promptTokens: parsed.output.usage?.prompt_tokens ?? 0 }
    } catch (error) {
      if (signal.aborted) throw new AbortError('client went away')
      if (error instanceof ApiError) throw error
      if (timeout.aborted) throw new UpstreamError(`the upstream model server sent nothing for ${timings.timeoutMs} ms`, 'upstream_timeout', 504, null, `silent for ${timings.timeoutMs} ms`)
      if (error instanceof SyntaxError) throw broken('not JSON')
      throw broken(error instanceof Error ? error.message : String(error))
    } finally {
      active -= 1
    }
  }

  return { target, chat, complete, listModels, embed, active: () => active }
}

import { noSupports } from './types'
import { refuseUnsupported } from './supports'
import * as v from 'valibot'
import { ChatCompletionChunkSchema, ErrorBodySchema, ModelListSchema, type WireChunk } from '../shared/openai'
import { AbortError, EngineUnavailableError, InferenceError, throwIfAborted, registerError } from '../shared/errors'
import { readSseData } from '../shared/sse'
import { chunkFactory } from './chunks'
import type { Engine } from './engine'
import type { ChatChunk, ChatRequest, EngineInfo, FinishReason, LoadProgress, ToolCallDelta } from './types'

export interface RelayEngineOptions {
  /** The relay's OpenAI-compatible base, default this origin's `/v1`. */
  baseUrl?: string
  /** A bearer token for relays that require one (settings). */
  token: () => string
}

/** The relay could not be reached or refused: the router falls back to local and says why. */
export class RelayUnavailableError extends EngineUnavailableError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'RelayUnavailableError'
}

type WireCallDelta = NonNullable<WireChunk['choices'][number]['delta']['tool_calls']>[number]

/** A streamed call piece as ours; an id our messages could not carry back is replaced. */
function toolCallDelta(delta: WireCallDelta): ToolCallDelta {
  const id = delta.id ? (/^[A-Za-z0-9_.:-]{1,64}$/.test(delta.id) ? delta.id : `call_${crypto.randomUUID()}`) : undefined
  const { name, arguments: args } = delta.function ?? {}
  return { index: delta.index, ...(id ? { id, type: 'function' as const } : {}), function: { ...(name ? { name } : {}), ...(args ? { arguments: args } : {}) } }
}

/** The relay's big model (or its upstream) over `/v1`, streamed with SSE. */
export class RelayEngine implements Engine {
  readonly kind = 'relay'
  #model: string | null = null
  /** Set by `unload`, cleared by `load`: a chat in between fails instead of loading again. */
  #unloaded = false
  #info: EngineInfo = {
    kind: 'relay',
    modelId: '',
    contextSize: 0,
    availability: 'unavailable',
    reason: 'the relay has not been asked yet',
    supports: noSupports,
    prefillTokensPerS: 0,
    decodeTokensPerS: 0,
  }
  readonly #base: string

  constructor(private readonly options: RelayEngineOptions) {
    this.#base = options.baseUrl ?? new URL('/v1', location.origin).href
  }

  #headers(): Record<string, string> {
    const token = this.options.token().trim()
    return { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }
  }

  /** Asks the relay which models it serves and picks the first that is not the swarm itself. */
  async load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    const response = await this.#fetch(`${this.#base}/models`, { headers: this.#headers(), ...(signal ? { signal } : {}) })
    const list = v.safeParse(ModelListSchema, await response.json().catch(() => null))
    const entry = list.success ? list.output.data.find(({ id }) => !id.startsWith('swarm')) : undefined
    if (!entry) throw new RelayUnavailableError('the relay serves no model: its operator sets RELAY_MODEL_PATH or RELAY_UPSTREAM_URL')
    const model = entry.id
    this.#model = model
    this.#unloaded = false
    // 0 (unknown) when the relay's server does not say, as an upstream other than vLLM or a relay may not.
    // The relay's /v1 takes tools, tool messages and response_format on every backend, and
    // answers a combination its backend cannot do with a 400 that names it.
    this.#info = { ...this.#info, modelId: model, contextSize: entry.max_model_len ?? 0, availability: 'ready', reason: '', supports: { tools: true, jsonSchema: true } }
    onProgress({ phase: 'load', loadedBytes: 0, totalBytes: 0, text: `the relay serves ${model}` })
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    let response: Response
    try {
      response = await fetch(url, init)
    } catch (error) {
      if (init.signal?.aborted) throw new AbortError('aborted')
      throw new RelayUnavailableError(`relay unreachable: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (response.ok) return response
    const body = v.safeParse(ErrorBodySchema, await response.json().catch(() => null))
    const detail = body.success ? body.output.error.message : response.statusText
    if (response.status === 401) throw new RelayUnavailableError(`relay refused: ${this.options.token().trim() ? 'token not accepted' : 'token missing'} (set it in Engine settings)`)
    if (response.status === 429) throw new RelayUnavailableError(`relay busy: ${detail} (retry after ${response.headers.get('retry-after') ?? '?'} s)`)
    if (response.status >= 500) throw new RelayUnavailableError(`relay failed (${response.status}): ${detail}`)
    throw new InferenceError(`relay refused the request (${response.status}): ${detail}`)
  }

  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
    throwIfAborted(signal)
    if (this.#unloaded) throw new InferenceError('the relay engine is unloaded: load it again to chat')
    refuseUnsupported(request, this.info().supports, 'the relay engine')
    // Never loaded: the first chat asks the relay for its model itself.
    if (!this.#model) await this.load(() => undefined, signal)
    const model = this.#model ?? ''
    const { enable_thinking: enableThinking, ...openai } = request
    const body = { ...openai, model, stream: true, stream_options: { include_usage: true }, ...(enableThinking === undefined ? {} : { chat_template_kwargs: { enable_thinking: enableThinking } }) }
    const response = await this.#fetch(`${this.#base}/chat/completions`, { method: 'POST', headers: this.#headers(), body: JSON.stringify(body), ...(signal ? { signal } : {}) })
    const chunks = chunkFactory(model)
    let first = true
    let finish: FinishReason = 'stop'
    let usage: ChatChunk['usage']
    const startedMs = performance.now()
    let firstMs = 0
    try {
      for await (const data of serverSentData(response, signal)) {
        // One network read can hold many events: what is already buffered is dropped at a stop.
        if (signal?.aborted) break
        const parsed = v.safeParse(ChatCompletionChunkSchema, data)
        if (!parsed.success) continue
        if (parsed.output.usage) usage = parsed.output.usage
        const choice = parsed.output.choices[0]
        const text = choice?.delta.content ?? ''
        if (choice?.finish_reason === 'length' || choice?.finish_reason === 'tool_calls') finish = choice.finish_reason
        const calls = (choice?.delta.tool_calls ?? []).map(toolCallDelta)
        if (!text && calls.length === 0) continue
        if (!firstMs) firstMs = performance.now()
        if (text) yield chunks.content(text, first)
        if (calls.length > 0) yield chunks.toolCalls(calls, first && !text)
        first = false
      }
    } catch (error) {
      if (!signal?.aborted) throw error
      finish = 'abort'
    }
    if (signal?.aborted) finish = 'abort'
    if (usage && firstMs) this.#measure(usage, startedMs, firstMs)
    yield chunks.finish(finish, usage)
  }

  #measure(usage: NonNullable<ChatChunk['usage']>, startedMs: number, firstMs: number): void {
    const decodeS = (performance.now() - firstMs) / 1000
    const prefillS = (firstMs - startedMs) / 1000
    if (prefillS > 0) this.#info = { ...this.#info, prefillTokensPerS: usage.prompt_tokens / prefillS }
    if (decodeS > 0 && usage.completion_tokens > 1) this.#info = { ...this.#info, decodeTokensPerS: (usage.completion_tokens - 1) / decodeS }
  }

  info(): EngineInfo {
    return this.#info
  }

  /** Forgets the relay's model; chats fail with InferenceError until `load` runs again. */
  unload(): Promise<void> {
    this.#model = null
    this.#unloaded = true
    this.#info = { ...this.#info, availability: 'unavailable', reason: 'unloaded' }
    return Promise.resolve()
  }
}

/** The JSON of each `data:` event of an SSE response, until `[DONE]`; a malformed event is skipped. */
async function* serverSentData(response: Response, signal?: AbortSignal): AsyncGenerator {
  if (!response.body) return
  const reader = response.body.getReader()
  const onAbort = (): void => void reader.cancel().catch(() => undefined)
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for await (const data of readSseData(chunksOf(reader))) {
      if (data.trim() === '[DONE]') return
      let parsed: unknown
      try {
        parsed = JSON.parse(data)
      } catch {
        // A malformed event from the relay is skipped, not fatal.
        continue
      }
      yield parsed
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    reader.releaseLock()
  }
}

/** What `reader` reads, as an async iterable: not every browser we serve can iterate a ReadableStream. */
async function* chunksOf(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    yield value
  }
}

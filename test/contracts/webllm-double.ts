// A deterministic double of WebLLM's pipeline (the `@mlc-ai/web-llm` module, a third party), for
// running WebLlmEngine in Vitest without a GPU, as projects that build on web-llm test theirs:
// `vi.mock('@mlc-ai/web-llm', …)` with an engine whose `chat.completions.create` streams made-up
// tokens. It behaves as WebLLM 0.2.86 does where our engine depends on it: init progress reports in
// its wording, `max_tokens`, `stop` strings cut out of the output, `interruptGenerate` ending the
// stream with finish_reason 'abort' (the flag reset when a generation starts), one usage chunk
// with no choices and the speeds in `usage.extra`, `unload`. Same seed and prompt, same tokens.
// Its checks of a request are WebLLM's: `tools` throws for every model but Hermes (Qwen3 has no
// function calling), a system message only first, the last message from the user or a tool, a
// `schema` only with `json_object`; `json_object` output is JSON that satisfies the schema, as
// xgrammar guarantees (generated here from the schema's subset our requests use).
import type { ChatCompletionChunk, ChatCompletionRequestStreaming, InitProgressReport } from '@mlc-ai/web-llm'

const words = ['the', 'swarm', 'answers', 'quickly', 'while', 'every', 'node', 'keeps', 'its', 'own', 'model', 'ready', 'and', 'shares', 'memory', 'with', 'peers']
/** Made-up speeds, as WebLLM reports them in `usage.extra`. */
export const doubleSpeeds = { prefillTokensPerS: 480, decodeTokensPerS: 42 }
const tokenIntervalMs = 1

function hash(text: string): number {
  let value = 2166136261
  for (let index = 0; index < text.length; index++) value = Math.imul(value ^ text.charCodeAt(index), 16777619)
  return value >>> 0
}

/** mulberry32: a small seeded generator, so the same request yields the same tokens. */
function generator(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = state
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1)
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61)
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296
  }
}

type Schema = Record<string, unknown>
const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A value that satisfies `schema` (const, enum, anyOf, object, array, string, integer, number, boolean, null). */
function valueOf(schema: Schema, next: () => number): unknown {
  const pick = <T>(options: readonly T[]): T | undefined => options[Math.floor(next() * options.length)]
  if ('const' in schema) return schema['const']
  if (Array.isArray(schema['enum'])) return pick(schema['enum'])
  if (Array.isArray(schema['anyOf'])) return valueOf(pick(schema['anyOf'].filter(isSchema)) ?? {}, next)
  const declared: unknown = schema['type']
  const type: unknown = Array.isArray(declared) ? pick(declared as unknown[]) : (declared ?? 'object')
  const min = typeof schema['minimum'] === 'number' ? schema['minimum'] : 0
  const max = typeof schema['maximum'] === 'number' ? schema['maximum'] : min + 1000
  switch (type) {
    case 'string': {
      const maxLength = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : 40
      return (pick(words) ?? '').slice(0, maxLength)
    }
    case 'integer':
      return Math.ceil(min) + Math.floor(next() * (Math.floor(max) - Math.ceil(min) + 1))
    case 'number':
      return min + next() * (max - min)
    case 'boolean':
      return next() < 0.5
    case 'null':
      return null
    case 'array': {
      const items = isSchema(schema['items']) ? schema['items'] : {}
      const maxItems = typeof schema['maxItems'] === 'number' ? schema['maxItems'] : 3
      const minItems = typeof schema['minItems'] === 'number' ? schema['minItems'] : 0
      return Array.from({ length: minItems + Math.floor(next() * (maxItems - minItems + 1)) }, () => valueOf(items, next))
    }
    default: {
      const properties = isSchema(schema['properties']) ? schema['properties'] : {}
      const required = new Set(Array.isArray(schema['required']) ? schema['required'] : [])
      const entries = Object.entries(properties).filter(([name]) => required.has(name) || next() < 0.5)
      return Object.fromEntries(entries.map(([name, property]) => [name, valueOf(isSchema(property) ? property : {}, next)]))
    }
  }
}

/** What WebLLM 0.2.86 throws before it generates (postInitAndCheckFields), for a Qwen3 model. */
function checkRequest(request: ChatCompletionRequestStreaming): void {
  const named = (name: string, message: string): Error => Object.assign(new Error(message), { name })
  if (request.tools !== undefined)
    throw named('UnsupportedModelIdError', 'Qwen3 is not supported for ChatCompletionRequest.tools. Currently, models that support function calling are: Hermes-2-Pro-Llama-3-8B-q4f16_1-MLC, …')
  request.messages.forEach((message, index) => {
    if (message.role === 'system' && index !== 0) throw named('SystemMessageOrderError', 'System prompt should always be the first message in `messages`.')
  })
  const last = request.messages.at(-1)?.role
  if (last !== 'user' && last !== 'tool') throw named('MessageOrderError', 'Last message should be from either `user` or `tool`.')
  const format = request.response_format
  if (format?.schema !== undefined && format.type !== 'json_object') throw named('InvalidResponseFormatError', 'JSON schema is only supported with `json_object` response format.')
}

/** The output under `response_format` json_object, in token-sized pieces; null for free text. */
function jsonPieces(request: ChatCompletionRequestStreaming, next: () => number): string[] | null {
  if (request.response_format?.type !== 'json_object') return null
  const schema: unknown = request.response_format.schema ? JSON.parse(request.response_format.schema) : { type: 'object' }
  const text = JSON.stringify(valueOf(isSchema(schema) ? schema : {}, next))
  return Array.from({ length: Math.ceil(text.length / 4) }, (_, index) => text.slice(index * 4, index * 4 + 4))
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function promptText(request: ChatCompletionRequestStreaming): string {
  return request.messages.map((message) => `${message.role}: ${typeof message.content === 'string' ? message.content : JSON.stringify(message.content)}`).join('\n')
}

export class MlcEngineDouble {
  #interrupted = false
  unloaded = false
  readonly chat = { completions: { create: (request: ChatCompletionRequestStreaming) => Promise.resolve(this.#generate(request)) } }

  interruptGenerate(): void {
    this.#interrupted = true
  }

  /** Read through a method: interruptGenerate sets it while a generation awaits. */
  #isInterrupted(): boolean {
    return this.#interrupted
  }

  unload(): Promise<void> {
    this.unloaded = true
    return Promise.resolve()
  }

  async *#generate(request: ChatCompletionRequestStreaming): AsyncGenerator<ChatCompletionChunk> {
    if (this.unloaded) throw new Error('Model not loaded before calling chat.completions.create()')
    checkRequest(request)
    this.#interrupted = false
    const prompt = promptText(request)
    const next = generator(hash(`${request.seed ?? 0}|${request.temperature ?? 1}|${prompt}`))
    const json = jsonPieces(request, next)
    const id = `chatcmpl-double-${hash(prompt).toString(16)}`
    const created = Math.floor(Date.now() / 1000)
    const chunk = (content: string | null, finish: ChatCompletionChunk['choices'][number]['finish_reason'], first: boolean): ChatCompletionChunk => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: 'double',
      choices: [{ index: 0, delta: { ...(first ? { role: 'assistant' as const } : {}), ...(content === null ? {} : { content }) }, finish_reason: finish, logprobs: null }],
    })
    const stops = (typeof request.stop === 'string' ? [request.stop] : (request.stop ?? [])).filter((stop) => stop !== '')
    const holdBack = Math.max(0, ...stops.map((stop) => stop.length - 1))
    const maxTokens = request.max_tokens ?? 64
    let text = ''
    let emitted = 0
    let completionTokens = 0
    let first = true
    let finish: 'stop' | 'length' | 'abort' = 'length'
    while (completionTokens < maxTokens) {
      await sleep(tokenIntervalMs)
      if (this.#isInterrupted()) {
        finish = 'abort'
        break
      }
      if (json?.length === 0) {
        finish = 'stop'
        break
      }
      const word = json ? (json.shift() ?? '') : (words[Math.floor(next() * words.length)] ?? 'the')
      text += completionTokens === 0 || json ? word : ` ${word}`
      completionTokens++
      const cut = stops.map((stop) => text.indexOf(stop)).filter((at) => at !== -1)
      if (cut.length > 0) {
        const at = Math.min(...cut)
        if (at > emitted) yield chunk(text.slice(emitted, at), null, first)
        first = false
        finish = 'stop'
        break
      }
      const safe = text.length - holdBack
      if (safe > emitted) {
        yield chunk(text.slice(emitted, safe), null, first)
        first = false
        emitted = safe
      }
    }
    if ((finish === 'length' || (finish === 'stop' && json)) && emitted < text.length) {
      yield chunk(text.slice(emitted), null, first)
      first = false
    }
    yield chunk(null, finish, first)
    const promptTokens = prompt.split(/\s+/).filter(Boolean).length
    const extra = {
      e2e_latency_s: 0.01,
      prefill_tokens_per_s: doubleSpeeds.prefillTokensPerS,
      decode_tokens_per_s: doubleSpeeds.decodeTokensPerS,
      time_to_first_token_s: 0.001,
      time_per_output_token_s: 0.001,
    }
    yield {
      id,
      object: 'chat.completion.chunk',
      created,
      model: 'double',
      choices: [],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens, extra },
    }
  }
}

/** The engines the double created, newest last (a test can look at what the engine did to them). */
export const createdEngines: MlcEngineDouble[] = []

/** What `vi.mock('@mlc-ai/web-llm')` returns: the parts of the module WebLlmEngine imports. */
export const webLlmModuleDouble = {
  prebuiltAppConfig: { model_list: [] },
  async CreateWebWorkerMLCEngine(_worker: unknown, modelId: string, config?: { initProgressCallback?: (report: InitProgressReport) => void }): Promise<MlcEngineDouble> {
    const report = config?.initProgressCallback ?? (() => undefined)
    report({ progress: 0, timeElapsed: 0, text: 'Start to fetch params' })
    await sleep(tokenIntervalMs)
    report({ progress: 0.5, timeElapsed: 0, text: `Fetching param cache[1/2]: 10MB fetched. 50% completed, 0 secs elapsed. (${modelId})` })
    report({ progress: 1, timeElapsed: 0, text: 'Loading model from cache[2/2]: 20MB loaded. 100% completed, 0 secs elapsed.' })
    report({ progress: 1, timeElapsed: 0, text: 'Finish loading on WebGPU - double' })
    const engine = new MlcEngineDouble()
    createdEngines.push(engine)
    return engine
  },
}

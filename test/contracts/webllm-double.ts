// A deterministic double of WebLLM's pipeline (the `@mlc-ai/web-llm` module, a third party), for
// running WebLlmEngine in Vitest without a GPU, as projects that build on web-llm test theirs:
// `vi.mock('@mlc-ai/web-llm', …)` with an engine whose `chat.completions.create` streams made-up
// tokens. It behaves as WebLLM 0.2.86 does where our engine depends on it: init progress reports in
// its wording, `max_tokens`, `stop` strings cut out of the output, `interruptGenerate` ending the
// stream with finish_reason 'abort' (the flag reset when a generation starts), one usage chunk
// with no choices and the speeds in `usage.extra`, `unload`. Same seed and prompt, same tokens.
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
    this.#interrupted = false
    const prompt = promptText(request)
    const next = generator(hash(`${request.seed ?? 0}|${request.temperature ?? 1}|${prompt}`))
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
      const word = words[Math.floor(next() * words.length)] ?? 'the'
      text += completionTokens === 0 ? word : ` ${word}`
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
    if (finish === 'length' && emitted < text.length) {
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

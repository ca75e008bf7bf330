import type { AssetsPathConfig, Wllama, WllamaConfig, WllamaLogger } from '@wllama/wllama/esm/index.js'
import { modelIdOf } from './model-id'
import { AbortError, InferenceError, ModelLoadError, throwIfAborted } from '../../shared/errors'
import { callDeltas, chunkFactory } from '../chunks'
import type { Engine } from '../engine'
import { StopScanner } from '../stop'
import { ToolOutput, forcedCall } from '../tool-output'
import { refuseUnsupported } from '../supports'
import type { ChatChunk, ChatMessage, ChatRequest, EngineInfo, FinishReason, LoadProgress, TokenCount, ToolCallDelta } from '../types'
import { noSupports } from '../types'
import type {
  ChatCompletionChunkDelta,
  ChatCompletionParams,
  ChatCompletionTool,
  ChatCompletionToolFunctionParameters,
  ChatCompletionMessage as WllamaMessage,
} from '@wllama/wllama/esm/types/oai-compat'
import { wasmContextSize } from '../context-size'
import { messageFrameText } from '../tokens'
import { BpeTokenizer } from '../tokenizer/bpe'
import { readGgufHeader } from '../tokenizer/gguf-header'
import { downloadModel, type PinnedFile } from './model-download'
import { offloadedLayers } from './gpu-offload'

export interface WllamaEngineOptions {
  /** A .gguf URL; the first part of a split model (`…-00001-of-00003.gguf`) loads every part. */
  modelUrl: string
  /** URL of wllama's wasm file (Vite: `import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'`). */
  wasmUrl: string
  /** Threads for llama.cpp; wllama's own default is half the cores, so we always say. */
  threads?: number
  /** Tokens of context to load with; default: as many as this device's memory allows (context-size.ts). */
  contextSize?: number
  /** The published SHA-256 (and size) of each part: the download is checked against them. */
  pinned?: PinnedFile[]
  /** Layers llama.cpp offloads to WebGPU (wllama's own WebGPU backend); 0 or absent: all on the CPU. */
  gpuLayers?: number
}

/** wllama's class, passed in by the worker that hosts the engine (the app's and the bench's wllama differ). */
export type WllamaClass = new (paths: AssetsPathConfig, config?: WllamaConfig) => Wllama

const maxLogLines = 20

function toWllamaMessage(message: ChatMessage): WllamaMessage {
  if (message.role === 'assistant') return message.tool_calls ? { role: 'assistant', content: message.content, tool_calls: message.tool_calls } : { role: 'assistant', content: message.content }
  return message
}

/** llama-server takes any JSON Schema; wllama's type names only the common object shape. */
function toWllamaTool(tool: NonNullable<ChatRequest['tools']>[number]): ChatCompletionTool {
  const { name, description, parameters, strict } = tool.function
  return {
    type: 'function',
    function: {
      name,
      ...(description !== undefined ? { description } : {}),
      ...(parameters !== undefined ? { parameters: parameters as unknown as ChatCompletionToolFunctionParameters } : {}),
      ...(typeof strict === 'boolean' ? { strict } : {}),
    },
  }
}

/**
 * How a request's tools and format reach llama-server. The tools go in natively: the model's own
 * template offers them. A forced call (`required`, or a named function, which llama-server
 * would read as `auto`) is decoded under `forcedCallSchema` as a JSON schema, so even a
 * random-weight model writes a call that parses; this engine turns it into `tool_calls`.
 */
function structuredParams(request: ChatRequest): { params: Pick<ChatCompletionParams, 'tools' | 'tool_choice' | 'response_format'>; forced: boolean } {
  const tools = request.tools ?? []
  const choice = request.tool_choice ?? 'auto'
  const forcedSchema = forcedCall(request)
  const format = request.response_format
  const schema = forcedSchema
    ? { name: 'tool_call', schema: forcedSchema, strict: true }
    : format?.type === 'json_schema'
      ? { name: format.json_schema.name, schema: format.json_schema.schema, strict: format.json_schema.strict ?? true }
      : undefined
  return {
    forced: forcedSchema !== null,
    params: {
      ...(tools.length ? { tools: tools.map(toWllamaTool), tool_choice: typeof choice === 'object' || choice === 'required' ? 'auto' : choice } : {}),
      ...(schema ? { response_format: { type: 'json_schema', json_schema: schema } } : format?.type === 'json_object' ? { response_format: { type: 'json_object' } } : {}),
    },
  }
}

function toolCallDeltas(delta: ChatCompletionChunkDelta): ToolCallDelta[] {
  return (delta.tool_calls ?? []).map(({ index, id, function: fn }) => ({
    index,
    ...(id ? { id, type: 'function' as const } : {}),
    function: { ...(fn?.name ? { name: fn.name } : {}), ...(fn?.arguments ? { arguments: fn.arguments } : {}) },
  }))
}

/** The threads to use: all cores but one for the page, one when not cross-origin isolated. */
export function defaultThreads(): number {
  if (!globalThis.crossOriginIsolated) return 1
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency - 1))
}


/**
 * llama.cpp compiled to WASM (wllama), on the CPU with SIMD and threads. The model is kept in
 * OPFS by our resumable downloader, so a second load, or a load offline, reads it from there.
 */
export class WllamaEngine implements Engine {
  readonly kind = 'wasm'
  #wllama: Wllama | null = null
  /** The model's own tokenizer, from its GGUF header: counts prompts as llama.cpp will. */
  #tokenizer: BpeTokenizer | null = null
  readonly #log: string[] = []
  /** What llama.cpp said it put on the GPU while loading; null: it said nothing (no GPU device). */
  #offloaded: { offloaded: number; total: number } | null = null
  #info: EngineInfo

  constructor(
    private readonly options: WllamaEngineOptions,
    private readonly wllamaClass: WllamaClass,
  ) {
    this.#info = { kind: 'wasm', modelId: modelIdOf(options.modelUrl), contextSize: 0, availability: 'unavailable', reason: 'the model is not loaded', supports: noSupports, prefillTokensPerS: 0, decodeTokensPerS: 0 }
  }

  #logger(): WllamaLogger {
    const keep = (level: string) => (...parts: unknown[]) => {
      this.#log.push(`${level}: ${parts.map(String).join(' ')}`)
      if (this.#log.length > maxLogLines) this.#log.shift()
    }
    const log = (...parts: unknown[]): void => {
      this.#offloaded = offloadedLayers(parts.map(String).join(' ')) ?? this.#offloaded
    }
    return { debug: log, log, warn: keep('warn'), error: keep('error') }
  }

  /** wllama reports load failures as a bare RangeError; the cause is in what it logged. */
  #explain(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error)
    const logged = this.#log.filter((line) => line.startsWith('error') || /fail|invalid|error/i.test(line)).slice(-3)
    return logged.length ? `${message} (${logged.join('; ')})` : message
  }

  async load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    if (!/^https?:\/\/.+\.gguf(\?.*)?$/i.test(new URL(this.options.modelUrl, location.href).href)) {
      throw new ModelLoadError(`model URL must be an http(s) URL of a .gguf file: ${this.options.modelUrl.slice(0, 200)}`)
    }
    if (this.#wllama) return
    const wllama = new this.wllamaClass({ default: this.options.wasmUrl }, { logger: this.#logger(), suppressNativeLog: false })
    // The compat build is for Safari and comes from a CDN; we never want a CDN.
    wllama.setCompat(null)
    const onAbort = (): void => void wllama.exit().catch(() => undefined)
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const files = await downloadModel(
        new URL(this.options.modelUrl, location.href).href,
        ({ loadedBytes, totalBytes }) => onProgress({ phase: 'download', loadedBytes, totalBytes, text: 'downloading the model' }),
        signal,
        this.options.pinned,
      )
      onProgress({ phase: 'load', loadedBytes: 0, totalBytes: 0, text: 'loading the model' })
      // A header we cannot read only costs the exact counts: wllama says what is wrong with the file.
      const header = files[0] ? await readGgufHeader(files[0]).catch(() => null) : null
      const deviceMemoryGb = (navigator as Navigator & { deviceMemory?: number }).deviceMemory
      const nCtx = wasmContextSize({
        kvBytesPerToken: header?.kvBytesPerToken ?? 0,
        modelBytes: files.reduce((total, file) => total + file.size, 0),
        trainedContext: header?.trainedContext ?? 0,
        deviceMemoryGb,
        forced: this.options.contextSize,
      })
      await wllama.loadModel(files, { n_threads: this.options.threads ?? defaultThreads(), n_ctx: nCtx, n_gpu_layers: this.options.gpuLayers ?? 0, reasoning_format: 'none', jinja: true })
      throwIfAborted(signal)
      // wllama can "load" a file that is no model at all (a corrupt GGUF): check what it got.
      const loaded = wllama.getLoadedContextInfo()
      if (!(loaded.n_ctx > 0 && loaded.n_vocab > 0 && loaded.n_layer > 0)) throw new Error('the file is not a usable GGUF model (no vocabulary, layers or context)')
      onProgress({ phase: 'load', loadedBytes: 0, totalBytes: 0, text: this.#placement() })
      this.#wllama = wllama
      this.#tokenizer = header && header.tokens.length > 0 ? new BpeTokenizer(header) : null
      // llama.cpp runs the model's own Jinja template (`jinja: true`): it offers the tools, parses
      // the calls back out in the template's format, and constrains decoding to JSON schemas.
      this.#info = { ...this.#info, contextSize: loaded.n_ctx, availability: 'ready', reason: '', supports: { tools: true, jsonSchema: true }, threads: wllama.getNumThreads() }
    } catch (error) {
      await wllama.exit().catch(() => undefined)
      if (signal?.aborted) throw new AbortError('model load aborted')
      if (error instanceof ModelLoadError) throw error
      if (error instanceof DOMException && error.name === 'QuotaExceededError') {
        throw new ModelLoadError('storage quota exceeded while caching the model: free some space or delete other models, then reload')
      }
      throw new ModelLoadError(`could not load ${this.#info.modelId}: ${this.#explain(error)}`)
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Where the loaded model runs, as llama.cpp reported it. */
  #placement(): string {
    if (!this.options.gpuLayers) return 'model loaded'
    const offloaded = this.#offloaded
    if (!offloaded || offloaded.offloaded === 0) return 'model loaded on the CPU: wllama found no WebGPU device it can use'
    return `model loaded, ${offloaded.offloaded}/${offloaded.total} layers on WebGPU`
  }

  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
    const wllama = this.#wllama
    if (!wllama) throw new InferenceError('the wasm engine has no model loaded')
    throwIfAborted(signal)
    refuseUnsupported(request, this.#info.supports, 'the wasm engine')
    const controller = new AbortController()
    const forward = (): void => controller.abort()
    signal?.addEventListener('abort', forward, { once: true })
    const chunks = chunkFactory(this.#info.modelId)
    const scanner = new StopScanner(request.stop ?? [])
    const { params, forced } = structuredParams(request)
    // Calls in Qwen3's text format that llama.cpp left in the content are parsed here.
    const output = new ToolOutput(forced)
    const constrained = forced || params.response_format !== undefined
    let nativeCalls = false
    const startedMs = performance.now()
    let firstTokenMs = 0
    let completionTokens = 0
    let promptTokens = 0
    let finish: FinishReason = 'stop'
    let first = true
    let completed = false
    try {
      const stream = await wllama.createChatCompletion({
        messages: request.messages.map(toWllamaMessage),
        stream: true,
        abortSignal: controller.signal,
        ...(request.max_tokens !== undefined ? { max_tokens: request.max_tokens } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.top_p !== undefined ? { top_p: request.top_p } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...params,
        // llama.cpp fails to start a grammar after the empty think block that enable_thinking=false
        // pre-fills (reasoning_format none); the grammar rules out thinking anyway.
        chat_template_kwargs: { enable_thinking: constrained ? true : (request.enable_thinking ?? true) },
      })
      for await (const chunk of stream) {
        const choice = chunk.choices[0]
        const text = choice?.delta.content ?? ''
        if (text) {
          completionTokens++
          if (!firstTokenMs) firstTokenMs = performance.now()
          const safe = scanner.push(output.push(text))
          if (safe) {
            yield chunks.content(safe, first)
            first = false
          }
          if (scanner.stopped) {
            controller.abort()
            break
          }
        }
        const deltas = choice ? toolCallDeltas(choice.delta) : []
        if (deltas.length > 0) {
          nativeCalls = true
          if (!firstTokenMs) firstTokenMs = performance.now()
          yield chunks.toolCalls(deltas, first)
          first = false
        }
        if (choice?.finish_reason === 'length' || choice?.finish_reason === 'tool_calls') finish = choice.finish_reason
        if (chunk.usage) {
          promptTokens = chunk.usage.prompt_tokens
          completionTokens = chunk.usage.completion_tokens
        }
        if (chunk.timings) {
          this.#recordTimings(chunk.timings.prompt_per_second, chunk.timings.predicted_per_second)
          promptTokens = chunk.timings.prompt_n + chunk.timings.cache_n
          completionTokens = chunk.timings.predicted_n
        }
      }
      completed = true
    } catch (error) {
      if (!controller.signal.aborted) throw new InferenceError(this.#explain(error))
    } finally {
      signal?.removeEventListener('abort', forward)
      // A consumer that stops iterating early must stop the generation too.
      if (!completed) controller.abort()
    }
    if (signal?.aborted) finish = 'abort'
    const parsed = output.end()
    const rest = (scanner.stopped ? '' : scanner.push(parsed.content)) + scanner.flush()
    if (rest) {
      yield chunks.content(rest, first)
      first = false
    }
    if (!nativeCalls && parsed.calls.length > 0 && finish !== 'abort') {
      yield chunks.toolCalls(callDeltas(parsed.calls), first)
      finish = 'tool_calls'
    }
    this.#measureIfUnknown(startedMs, firstTokenMs, promptTokens, completionTokens)
    yield chunks.finish(finish, { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens })
  }

  #recordTimings(prefillTokensPerS: number, decodeTokensPerS: number): void {
    if (Number.isFinite(prefillTokensPerS) && prefillTokensPerS > 0) this.#info = { ...this.#info, prefillTokensPerS }
    if (Number.isFinite(decodeTokensPerS) && decodeTokensPerS > 0) this.#info = { ...this.#info, decodeTokensPerS }
  }

  /** Wall-clock figures when the server sent no timings: prefill ≈ time to first token. */
  #measureIfUnknown(startedMs: number, firstTokenMs: number, promptTokens: number, completionTokens: number): void {
    if (!firstTokenMs) return
    const decodeS = (performance.now() - firstTokenMs) / 1000
    const prefillS = (firstTokenMs - startedMs) / 1000
    this.#recordTimings(promptTokens > 0 && prefillS > 0 && this.#info.prefillTokensPerS === 0 ? promptTokens / prefillS : 0, completionTokens > 1 && decodeS > 0 && this.#info.decodeTokensPerS === 0 ? (completionTokens - 1) / decodeS : 0)
  }

  info(): EngineInfo {
    return this.#info
  }

  /** Exact counts with the model's vocabulary; estimated (and said) for a GGUF without one. */
  countTokens(messages: readonly ChatMessage[]): Promise<TokenCount> {
    const tokenizer = this.#tokenizer
    if (!tokenizer) return Promise.reject(new InferenceError('the wasm engine has no tokenizer loaded'))
    return Promise.resolve({ perMessage: messages.map((message) => tokenizer.count(messageFrameText(message))), exact: true })
  }

  async unload(): Promise<void> {
    const wllama = this.#wllama
    this.#wllama = null
    this.#tokenizer = null
    this.#info = { ...this.#info, availability: 'unavailable', reason: 'the model is unloaded' }
    await wllama?.exit()
  }
}

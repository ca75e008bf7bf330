// The embedded backend: node-llama-cpp runs a GGUF file on the relay's machine (RELAY_MODEL_PATH,
// or RELAY_MODEL's download: ../models/). One context with one sequence per concurrent request;
// requests beyond that wait in the pool's queue.
import path from 'node:path'
import type { ChatWrapper, Llama, LlamaChatResponseChunk, LlamaContextSequence, LlamaModel } from 'node-llama-cpp'
import { AsyncQueue } from '../../shared/async-queue'
import { chunkBuilder, stopSequences, type ChatCompletionChunk, type ModelInfo, type TextCompletionChunk } from '../../shared/openai'
import type { Logger } from '../log'
import { fetchModel } from '../models/download'
import { importLlamaCpp, openLlama, type ImportLlamaCpp, type LlamaCpp } from '../models/llama-cpp'
import { describeProgress, type DownloadProgress } from '../models/progress'
import type { RemoteModel } from '../models/ref'
import type { Backend, BackendRequest, BackendState, CompletionBackendRequest } from './backend'
import type { EmbeddedConfig } from './config'
import { checkInfill, embeddedSampling, runCompletion, samplingOptions } from './embedded-completion'
import { ApiError } from './errors'
import { decodePlan, grammarOf, thoughtTokenBudget, toHistory } from './embedded-prompt'
import { createPool, type Pool } from './pool'
import { createToolOutput, offeredNames } from './tool-output'

interface Loaded {
  llama: Llama
  model: LlamaModel
  chatWrapper: ChatWrapper
  pool: Pool<LlamaContextSequence>
  /** Tokens one request may hold: the context's, shared by its sequences. */
  requestContextSize: number
}

/** The model id clients name: the file name without `.gguf`. */
export function embeddedModelId(modelPath: string): string {
  return path.basename(modelPath).replace(/\.gguf$/i, '')
}

export interface EmbeddedOptions {
  /** How node-llama-cpp is imported (a test makes it fail as a missing package does). */
  importLlamaCpp?: ImportLlamaCpp
}

interface LoadHooks extends EmbeddedOptions {
  log: Logger
  /** Stops a download when the relay closes. */
  signal: AbortSignal
  onDownload(progress: DownloadProgress | null): void
}

async function downloaded(llamaCpp: LlamaCpp, remote: RemoteModel, hooks: LoadHooks): Promise<string> {
  const file = await fetchModel(llamaCpp, remote, { log: hooks.log, signal: hooks.signal, onProgress: (progress) => hooks.onDownload(progress) })
  hooks.onDownload(null)
  return file
}

async function load(config: EmbeddedConfig, hooks: LoadHooks): Promise<Loaded> {
  const llamaCpp = await importLlamaCpp(hooks.importLlamaCpp)
  // The binaries first: no download when they cannot run it.
  const llama = await openLlama(llamaCpp, config.gpu)
  try {
    const modelPath = config.remote === undefined ? config.modelPath : await downloaded(llamaCpp, config.remote, hooks)
    const model = await llama.loadModel({ modelPath })
    const context = await model.createContext({
      contextSize: { max: config.contextSize },
      sequences: config.concurrency,
      threads: config.threads,
    })
    const sequences = Array.from({ length: config.concurrency }, () => context.getSequence())
    // Working out the chat template costs ~0.3–2 s; LlamaChat would redo it on every request.
    return { llama, model, chatWrapper: llamaCpp.resolveChatWrapper(model), pool: createPool(sequences, config.maxQueue), requestContextSize: Math.floor(context.contextSize / config.concurrency) }
  } catch (error) {
    hooks.onDownload(null)
    await llama.dispose()
    throw error
  }
}

/**
 * What `run` pushes, as a stream: it ends when `run` settles, and `run`'s signal aborts when
 * `signal` does or the consumer stops reading.
 */
function streamed<T>(signal: AbortSignal, run: (signal: AbortSignal, queue: AsyncQueue<T>) => Promise<void>): AsyncQueue<T> {
  const controller = new AbortController()
  const onAbort = (): void => controller.abort()
  signal.addEventListener('abort', onAbort, { once: true })
  const queue = new AsyncQueue<T>(() => controller.abort())
  run(controller.signal, queue).then(
    () => {
      signal.removeEventListener('abort', onAbort)
      queue.end()
    },
    (error: unknown) => {
      signal.removeEventListener('abort', onAbort)
      queue.fail(error)
    },
  )
  return queue
}

/** The answer while RELAY_MODEL downloads: 503 with how far it got. */
const stillDownloading = (modelId: string, progress: DownloadProgress): ApiError =>
  new ApiError(503, `the embedded model ${modelId} is loading: downloading, ${describeProgress(progress)}; ask again later`, 'server_error', 'model_loading', null, { 'Retry-After': '10' })

const closedError = (): ApiError => new ApiError(503, 'the embedded backend is closed: the relay is shutting down', 'server_error', 'backend_closed')

/** Creates the backend and starts loading the model; requests wait for the load. */
export function createEmbeddedBackend(config: EmbeddedConfig, log: Logger, options: EmbeddedOptions = {}): Backend {
  const modelId = config.remote === undefined ? embeddedModelId(config.modelPath) : config.remote.id
  const createdS = Math.floor(Date.now() / 1000)
  let state: BackendState = { state: 'loading' }
  let loaded: Loaded | null = null
  let download: DownloadProgress | null = null
  const lifecycle = { closed: false }
  const stopDownload = new AbortController()
  const serves = (model: string): boolean => model === modelId || model === 'embedded' || model === config.remote?.ref
  const hooks: LoadHooks = {
    ...options,
    log,
    signal: stopDownload.signal,
    onDownload(progress) {
      download = progress
    },
  }
  const loading = load(config, hooks).then(
    (result) => {
      loaded = result
      state = { state: 'ready', active: 0, queued: 0 }
      log.info('embedded model loaded', { model: modelId, threads: config.threads, concurrency: config.concurrency })
      return result
    },
    (error: unknown) => {
      if (lifecycle.closed) {
        log.info('embedded model not loaded: the relay closed first', { model: modelId })
        return null
      }
      const reason = error instanceof Error ? error.message : String(error)
      state = { state: 'failed', reason }
      log.error('embedded model failed to load', { model: modelId, error })
      return null
    },
  )

  /** The loaded model for a request naming `model`: 404 for another model, 503 once closed or when the load failed. */
  const checkServed = (model: string): void => {
    if (!serves(model)) throw new ApiError(404, `model ${JSON.stringify(model)}: the embedded backend serves ${modelId}`, 'invalid_request_error', 'model_not_found', 'model')
  }
  async function readyFor(model: string): Promise<Loaded> {
    checkServed(model)
    if (download !== null) throw stillDownloading(modelId, download)
    const ready = await loading
    if (lifecycle.closed) throw closedError()
    if (ready === null) throw new ApiError(503, `the embedded model ${modelId} failed to load`, 'server_error', 'backend_failed')
    return ready
  }

  async function complete(request: CompletionBackendRequest, signal: AbortSignal, queue: AsyncQueue<TextCompletionChunk>): Promise<void> {
    const ready = await readyFor(request.model)
    checkInfill(ready.model, modelId, request)
    const sequence = await ready.pool.acquire(signal)
    try {
      await runCompletion(ready.model, sequence, request, signal, queue)
    } finally {
      ready.pool.release(sequence)
    }
  }

  async function generate(request: BackendRequest, signal: AbortSignal, queue: AsyncQueue<ChatCompletionChunk>): Promise<void> {
    checkServed(request.model)
    const plan = decodePlan(request)
    const thoughtTokens = thoughtTokenBudget(request)
    const ready = await readyFor(request.model)
    const { LlamaChat } = await import('node-llama-cpp')
    const grammar = await grammarOf(ready.llama, plan)
    const sampling = await samplingOptions(ready.model, request)
    const sequence = await ready.pool.acquire(signal)
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: ready.chatWrapper })
    try {
      // Thinking off: the thought is closed in the prompt, and the budget closes any the model opens.
      // Under a grammar (JSON, a forced call) the prompt stays as it is: the grammar rules thinking out.
      const unconstrained = plan.kind === 'text' || plan.kind === 'calls'
      const history = toHistory(request, unconstrained && thoughtTokens === 0 && chat.chatWrapper.settings.segments?.thought !== undefined)
      const promptTokens = chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(ready.model.tokenizer).length
      const chunks = chunkBuilder(request.model)
      let completionTokens = 0
      queue.push(chunks.role())
      // The model writes calls as text in Qwen3's format; a forced call is its JSON alone, under the grammar.
      const calls = plan.kind === 'calls' || plan.kind === 'forced-call' ? createToolOutput(chunks, { first: false, offered: offeredNames(request) }) : null
      const emit = (text: string): void => {
        if (calls === null) queue.push(chunks.content(text))
        else for (const chunk of calls.push(text)) queue.push(chunk)
      }
      if (plan.kind === 'forced-call') emit('<tool_call>\n')
      const onResponseChunk = (chunk: LlamaChatResponseChunk): void => {
        completionTokens += chunk.tokens.length
        let text = chunk.text
        // A thought segment stays in the content between <think> tags, as Qwen3 writes it.
        if (chunk.type === 'segment' && chunk.segmentType === 'thought') {
          if (chunk.segmentStartTime !== undefined) text = `<think>${text}`
          if (chunk.segmentEndTime !== undefined) text = `${text}</think>`
        }
        if (text !== '') emit(text)
      }
      const result = await chat.generateResponse(history, {
        maxTokens: request.max_tokens,
        temperature: request.temperature ?? 1,
        ...(request.top_p != null ? { topP: request.top_p } : {}),
        ...(request.seed != null ? { seed: request.seed } : {}),
        ...sampling,
        customStopTriggers: stopSequences(request),
        ...(thoughtTokens === undefined ? {} : { budgets: { thoughtTokens } }),
        ...(grammar === undefined ? {} : { grammar }),
        signal,
        stopOnAbortSignal: true,
        onResponseChunk,
      })
      if (signal.aborted) return
      const stopped = result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop'
      if (plan.kind === 'forced-call') emit('\n</tool_call>')
      const end = calls?.end(stopped) ?? { chunks: [], finish: stopped }
      for (const chunk of end.chunks) queue.push(chunk)
      queue.push(chunks.finish(end.finish))
      queue.push(chunks.usage({ prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens }))
    } finally {
      chat.dispose({ disposeSequence: false })
      ready.pool.release(sequence)
    }
  }

  return {
    name: 'embedded',
    serves,
    models: () =>
      Promise.resolve([{ id: modelId, object: 'model', created: createdS, owned_by: 'edgeswarm-relay', ...(loaded === null ? {} : { max_model_len: loaded.requestContextSize }) } satisfies ModelInfo]),
    sampling: embeddedSampling,
    chat: (request, signal) => streamed(signal, (inner, queue) => generate(request, inner, queue)),
    complete: (request, signal) => streamed(signal, (inner, queue) => complete(request, inner, queue)),
    state(): BackendState {
      if (loaded !== null && state.state === 'ready') return { state: 'ready', active: loaded.pool.active(), queued: loaded.pool.queued() }
      return state.state === 'loading' && download !== null ? { state: 'loading', download: { ...download } } : state
    },
    /** Frees the model; later chats fail with 503 (a second close does nothing). */
    async close() {
      if (lifecycle.closed) return
      lifecycle.closed = true
      stopDownload.abort()
      const ready = await loading
      if (state.state !== 'failed') state = { state: 'unreachable', reason: 'closed' }
      loaded = null
      await ready?.llama.dispose()
    },
  }
}

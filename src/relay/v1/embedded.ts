// The embedded backend: node-llama-cpp runs a GGUF file on the relay's machine. One context
// with one sequence per concurrent request; requests beyond that wait in the pool's queue.
import path from 'node:path'
import type { ChatWrapper, Llama, LlamaChatResponseChunk, LlamaContextSequence, LlamaModel } from 'node-llama-cpp'
import { AsyncQueue } from '../../shared/async-queue'
import { chunkBuilder, stopSequences, type ChatCompletionChunk, type ModelInfo, type TextCompletionChunk } from '../../shared/openai'
import type { Logger } from '../log'
import type { Backend, BackendRequest, BackendState, CompletionBackendRequest } from './backend'
import type { V1Config } from './config'
import { checkInfill, embeddedSampling, runCompletion, samplingOptions } from './embedded-completion'
import { ApiError } from './errors'
import { decodePlan, grammarOf, thoughtTokenBudget, toHistory } from './embedded-prompt'
import { createPool, type Pool } from './pool'
import { createToolOutput, offeredNames } from './tool-output'

type EmbeddedConfig = NonNullable<V1Config['embedded']>

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

async function load(config: EmbeddedConfig): Promise<Loaded> {
  const { getLlama, LlamaLogLevel, resolveChatWrapper } = await import('node-llama-cpp')
  const llama = await getLlama({
    gpu: config.gpu ? 'auto' : false,
    build: 'never',
    skipDownload: true,
    logLevel: LlamaLogLevel.error,
  })
  try {
    const model = await llama.loadModel({ modelPath: config.modelPath })
    const context = await model.createContext({
      contextSize: { max: config.contextSize },
      sequences: config.concurrency,
      threads: config.threads,
    })
    const sequences = Array.from({ length: config.concurrency }, () => context.getSequence())
    // Working out the chat template costs ~0.3–2 s; LlamaChat would redo it on every request.
    return { llama, model, chatWrapper: resolveChatWrapper(model), pool: createPool(sequences, config.maxQueue), requestContextSize: Math.floor(context.contextSize / config.concurrency) }
  } catch (error) {
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

const closedError = (): ApiError => new ApiError(503, 'the embedded backend is closed: the relay is shutting down', 'server_error', 'backend_closed')

/** Creates the backend and starts loading the model; requests wait for the load. */
export function createEmbeddedBackend(config: EmbeddedConfig, log: Logger): Backend {
  const modelId = embeddedModelId(config.modelPath)
  const createdS = Math.floor(Date.now() / 1000)
  let state: BackendState = { state: 'loading' }
  let loaded: Loaded | null = null
  const lifecycle = { closed: false }
  const serves = (model: string): boolean => model === modelId || model === 'embedded'
  const loading = load(config).then(
    (result) => {
      loaded = result
      state = { state: 'ready', active: 0, queued: 0 }
      log.info('embedded model loaded', { model: modelId, threads: config.threads, concurrency: config.concurrency })
      return result
    },
    (error: unknown) => {
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
    state: () => (loaded !== null && state.state === 'ready' ? { state: 'ready', active: loaded.pool.active(), queued: loaded.pool.queued() } : state),
    /** Frees the model; later chats fail with 503 (a second close does nothing). */
    async close() {
      if (lifecycle.closed) return
      lifecycle.closed = true
      const ready = await loading
      if (state.state !== 'failed') state = { state: 'unreachable', reason: 'closed' }
      loaded = null
      await ready?.llama.dispose()
    },
  }
}

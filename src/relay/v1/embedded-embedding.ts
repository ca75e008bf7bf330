// The relay's own embedding model (RELAY_EMBEDDING_MODEL_PATH): node-llama-cpp runs a GGUF made
// for embeddings (bert, e5, granite-embedding, Qwen3-Embedding) beside the chat model, as a
// backend of its own that serves its id for /v1/embeddings and refuses chat. The chat model is
// not asked for embeddings: a decoder's last hidden state is a poor retrieval vector, and a
// model made for it costs little beside a chat model.
import type { Llama, LlamaEmbeddingContext, LlamaModel } from 'node-llama-cpp'
import { AbortError } from '../../shared/errors'
import { unitLength } from '../../shared/embeddings'
import type { ChatCompletionChunk, ModelInfo } from '../../shared/openai'
import type { Logger } from '../log'
import type { Backend, BackendState, EmbeddingBackendRequest, Embeddings } from './backend'
import type { V1Config } from './config'
import { embeddedModelId } from './embedded'
import { ApiError, badRequest } from './errors'

export type EmbeddingModelConfig = NonNullable<V1Config['embedding']>

interface Loaded {
  llama: Llama
  model: LlamaModel
  context: LlamaEmbeddingContext
  /** Tokens one text may have: the context's. */
  contextSize: number
}

async function load(config: EmbeddingModelConfig): Promise<Loaded> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
  const llama = await getLlama({ gpu: config.gpu ? 'auto' : false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error })
  try {
    const model = await llama.loadModel({ modelPath: config.modelPath })
    const context = await model.createEmbeddingContext({ contextSize: { max: config.contextSize }, threads: config.threads })
    return { llama, model, context, contextSize: Math.min(config.contextSize, model.trainContextSize) }
  } catch (error) {
    await llama.dispose()
    throw error
  }
}

export function createEmbeddingBackend(config: EmbeddingModelConfig, log: Logger): Backend {
  const modelId = embeddedModelId(config.modelPath)
  const createdS = Math.floor(Date.now() / 1000)
  let state: BackendState = { state: 'loading' }
  let closed = false
  let active = 0
  let queued = 0
  /** One embedding context runs one text at a time: requests take turns (this never rejects). */
  let turn: Promise<unknown> = Promise.resolve()
  const loading = load(config).then(
    (loaded) => {
      state = { state: 'ready', active: 0, queued: 0 }
      log.info('embedding model loaded', { model: modelId, threads: config.threads })
      return loaded
    },
    (error: unknown) => {
      state = { state: 'failed', reason: error instanceof Error ? error.message : String(error) }
      log.error('embedding model failed to load', { model: modelId, error })
      return null
    },
  )
  const serves = (model: string): boolean => model === modelId

  async function run(loaded: Loaded, input: readonly string[], signal: AbortSignal): Promise<Embeddings> {
    const tokenized = input.map((text) => loaded.model.tokenize(text))
    for (const [index, tokens] of tokenized.entries()) {
      if (tokens.length > loaded.contextSize) throw badRequest(`input ${index} has ${tokens.length} tokens; ${modelId} embeds at most ${loaded.contextSize}`, 'input', 'input_too_long')
    }
    const vectors: number[][] = []
    for (const tokens of tokenized) {
      if (signal.aborted) throw new AbortError('the client went away')
      const embedding = await loaded.context.getEmbeddingFor(tokens)
      vectors.push(unitLength(embedding.vector))
    }
    return { model: modelId, vectors, promptTokens: tokenized.reduce((sum, tokens) => sum + tokens.length, 0) }
  }

  async function embed(request: EmbeddingBackendRequest, signal: AbortSignal): Promise<Embeddings> {
    if (!serves(request.model)) throw new ApiError(404, `model ${JSON.stringify(request.model)}: the embedding backend serves ${modelId}`, 'invalid_request_error', 'model_not_found', 'model')
    const loaded = await loading
    if (closed) throw new ApiError(503, 'the embedding model is closed: the relay is shutting down', 'server_error', 'backend_closed')
    if (loaded === null) throw new ApiError(503, `the embedding model ${modelId} failed to load`, 'server_error', 'backend_failed')
    queued++
    const mine = turn.then(() => {
      queued--
      active++
      return run(loaded, request.input, signal).finally(() => active--)
    })
    turn = mine.catch(() => undefined)
    return mine
  }

  /** An embedding model answers no chat: its stream is the refusal. */
  function chat(request: { model: string }): AsyncIterable<ChatCompletionChunk> {
    const refusal = badRequest(`model ${JSON.stringify(request.model)} is an embedding model: POST /v1/embeddings with it`, 'model', 'model_not_chat')
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(refusal) }) }
  }

  return {
    name: 'embedded',
    serves,
    models: () => Promise.resolve([{ id: modelId, object: 'model', created: createdS, owned_by: 'edgeswarm-relay' } satisfies ModelInfo]),
    chat,
    embed,
    state: () => (state.state === 'ready' ? { state: 'ready', active, queued } : state),
    async close() {
      if (closed) return
      closed = true
      const loaded = await loading
      if (state.state !== 'failed') state = { state: 'unreachable', reason: 'closed' }
      await turn
      await loaded?.llama.dispose()
    },
  }
}

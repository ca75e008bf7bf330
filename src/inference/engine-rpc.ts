import { noSupports } from './types'
import * as v from 'valibot'
import { AsyncQueue } from '../shared/async-queue'
import { InferenceError } from '../shared/errors'
import { RpcClient, serveRpc, type MessageEndpoint, type RpcMethod } from '../shared/rpc'
import type { Engine } from './engine'
import { estimateCount } from './tokens'
import { ChatMessageSchema, ChatRequestSchema, type ChatChunk, type ChatMessage, type ChatRequest, type EngineInfo, type EngineKind, type LoadProgress, type TokenCount } from './types'

/** The Engine interface as RPC methods: the same interface on both sides of a worker or tab channel. */
export interface EngineMethods {
  load: RpcMethod<null, EngineInfo, LoadProgress>
  chat: RpcMethod<ChatRequest, EngineInfo, ChatChunk>
  info: RpcMethod<null, EngineInfo>
  /** Tokens of each message: the engine's own count, or the estimate when it has no tokenizer. */
  count: RpcMethod<ChatMessage[], TokenCount>
  unload: RpcMethod<null, null>
}

const NoPayload = v.null()

/** Requests may come from another tab: each payload is checked before the engine sees it. */
export const engineSchemas = { load: NoPayload, chat: ChatRequestSchema, info: NoPayload, count: v.pipe(v.array(ChatMessageSchema), v.maxLength(256)), unload: NoPayload }

/** `engine`'s count of `messages`, or the estimate when it cannot count. */
export function countOn(engine: Engine, messages: readonly ChatMessage[], signal?: AbortSignal): Promise<TokenCount> {
  return engine.countTokens ? engine.countTokens(messages, signal) : Promise.resolve(estimateCount(messages))
}

/** Serves `engine` to whoever calls on `endpoint`. Returns a stop function (it aborts what still runs). */
export function serveEngine(engine: Engine, endpoint: MessageEndpoint, onDrop?: (reason: string) => void): () => void {
  return serveRpc<EngineMethods>(
    endpoint,
    {
      load: async (_payload, { emit, signal }) => {
        await engine.load(emit, signal)
        return engine.info()
      },
      chat: async (request, { emit, signal }) => {
        for await (const chunk of engine.chat(request, signal)) emit(chunk)
        return engine.info()
      },
      info: () => engine.info(),
      count: (messages, { signal }) => countOn(engine, messages, signal),
      unload: async () => {
        await engine.unload()
        return null
      },
    },
    { schemas: engineSchemas, ...(onDrop ? { onDrop } : {}) },
  )
}

/**
 * The caller's side: an Engine whose work happens across an RPC channel (a worker, or the tab
 * that holds the shared model). Figures measured there arrive with every reply. `unload` also
 * ends the channel (and the worker, through `onUnload`): a later chat fails with InferenceError.
 */
export class EngineClient implements Engine {
  #info: EngineInfo

  constructor(
    readonly kind: EngineKind,
    private readonly rpc: RpcClient<EngineMethods>,
    modelId: string,
    private readonly onUnload: () => void = () => undefined,
  ) {
    this.#info = { kind, modelId, contextSize: 0, availability: 'unavailable', reason: 'the model is not loaded', supports: noSupports, prefillTokensPerS: 0, decodeTokensPerS: 0 }
  }

  async load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    this.#info = await this.rpc.call('load', null, { onEvent: onProgress, ...(signal ? { signal } : {}) })
  }

  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    // Breaking out of the loop stops the far side too; the caller's own signal is passed on.
    const stop = new AbortController()
    const onAbort = (): void => stop.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) stop.abort()
    const queue = new AsyncQueue<ChatChunk>(() => stop.abort())
    void this.rpc
      .call('chat', request, { onEvent: (chunk) => queue.push(chunk), signal: stop.signal })
      .then(
        (info) => {
          this.#info = info
          queue.end()
        },
        (error: unknown) => queue.fail(error),
      )
      .finally(() => signal?.removeEventListener('abort', onAbort))
    return queue
  }

  info(): EngineInfo {
    return this.#info
  }

  countTokens(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<TokenCount> {
    return this.rpc.call('count', [...messages], signal ? { signal } : {})
  }

  async unload(): Promise<void> {
    try {
      if (!this.rpc.closed) await this.rpc.call('unload', null)
    } finally {
      this.close(new InferenceError('the engine is unloaded'))
    }
  }

  /** Ends the channel without unloading; what is pending fails with `reason`. */
  close(reason: Error = new InferenceError('the engine is closed')): void {
    this.#info = { ...this.#info, availability: 'unavailable', reason: reason.message }
    this.rpc.close(reason)
    this.onUnload()
  }
}

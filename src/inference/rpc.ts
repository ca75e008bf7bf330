import * as v from 'valibot'
import { AsyncQueue } from '../shared/async-queue'
import { AbortError, InferenceError, rebuildError, serializeError, type SerializedError } from '../shared/errors'
import type { Engine } from './engine'
import type { ChatChunk, ChatRequest, EngineInfo, EngineKind, LoadProgress } from './types'

/**
 * One typed protocol for an engine on the far side of a port (a worker, or the tab that holds
 * the shared engine): `{ kind, id, payload }` both ways, errors as `{ name, message }`.
 */
export type EngineRequest =
  | { kind: 'load'; id: number }
  | { kind: 'chat'; id: number; payload: ChatRequest }
  | { kind: 'abort'; id: number }
  | { kind: 'info'; id: number }
  | { kind: 'unload'; id: number }

export type EngineReply =
  | { kind: 'progress'; id: number; payload: LoadProgress }
  | { kind: 'chunk'; id: number; payload: ChatChunk }
  | { kind: 'done'; id: number; payload: EngineInfo | null }
  | { kind: 'error'; id: number; payload: SerializedError }

const Envelope = v.object({ kind: v.string(), id: v.pipe(v.number(), v.integer()) })
const requestKinds = new Set(['load', 'chat', 'abort', 'info', 'unload'])
const replyKinds = new Set(['progress', 'chunk', 'done', 'error'])

export function isEngineRequest(data: unknown): data is EngineRequest {
  return v.is(Envelope, data) && requestKinds.has(data.kind)
}

export function isEngineReply(data: unknown): data is EngineReply {
  return v.is(Envelope, data) && replyKinds.has(data.kind)
}

/** What both a Worker and a worker's global scope (and a MessagePort) offer. */
export interface MessageEndpoint {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void
}

/** Serves `engine` to whoever speaks the protocol on `endpoint`. Returns a stop function. */
export function serveEngine(engine: Engine, endpoint: Pick<MessageEndpoint, 'postMessage' | 'addEventListener' | 'removeEventListener'>): () => void {
  const running = new Map<number, AbortController>()
  const reply = (message: EngineReply): void => endpoint.postMessage(message)
  const fail = (id: number, error: unknown): void => reply({ kind: 'error', id, payload: serializeError(error) })

  const handle = async (request: EngineRequest): Promise<void> => {
    const controller = new AbortController()
    running.set(request.id, controller)
    try {
      switch (request.kind) {
        case 'load':
          await engine.load((progress) => reply({ kind: 'progress', id: request.id, payload: progress }), controller.signal)
          reply({ kind: 'done', id: request.id, payload: engine.info() })
          break
        case 'chat':
          for await (const chunk of engine.chat(request.payload, controller.signal)) reply({ kind: 'chunk', id: request.id, payload: chunk })
          reply({ kind: 'done', id: request.id, payload: engine.info() })
          break
        case 'info':
          reply({ kind: 'done', id: request.id, payload: engine.info() })
          break
        case 'unload':
          await engine.unload()
          reply({ kind: 'done', id: request.id, payload: null })
          break
        case 'abort':
          break
      }
    } catch (error) {
      fail(request.id, error)
    } finally {
      running.delete(request.id)
    }
  }

  const onMessage = (event: MessageEvent): void => {
    const data: unknown = event.data
    if (!isEngineRequest(data)) return
    if (data.kind === 'abort') running.get(data.id)?.abort()
    else void handle(data)
  }
  endpoint.addEventListener('message', onMessage)
  return () => {
    endpoint.removeEventListener('message', onMessage)
    for (const controller of running.values()) controller.abort()
  }
}

interface Pending {
  onProgress?: (progress: LoadProgress) => void
  queue?: AsyncQueue<ChatChunk>
  resolve: (info: EngineInfo | null) => void
  reject: (error: Error) => void
}

/**
 * The caller's side: an Engine whose work happens across `endpoint`. The same interface on both
 * sides, as web-llm's WebWorkerMLCEngine; cancellation crosses as an `abort` message.
 */
export class RemoteEngine implements Engine {
  #nextId = 1
  readonly #pending = new Map<number, Pending>()
  #info: EngineInfo
  #closed: string | null = null

  constructor(
    readonly kind: EngineKind,
    private readonly endpoint: MessageEndpoint,
    modelId: string,
  ) {
    this.#info = { kind, modelId, contextSize: 0, availability: 'loading', prefillTokensPerS: 0, decodeTokensPerS: 0 }
    endpoint.addEventListener('message', this.#onMessage)
  }

  readonly #onMessage = (event: MessageEvent): void => {
    const data: unknown = event.data
    if (!isEngineReply(data)) return
    const pending = this.#pending.get(data.id)
    if (!pending) return
    switch (data.kind) {
      case 'progress':
        pending.onProgress?.(data.payload)
        break
      case 'chunk':
        pending.queue?.push(data.payload)
        break
      case 'done':
        this.#pending.delete(data.id)
        if (data.payload) this.#info = data.payload
        pending.queue?.end()
        pending.resolve(data.payload)
        break
      case 'error': {
        this.#pending.delete(data.id)
        const error = rebuildError(data.payload)
        pending.queue?.fail(error)
        pending.reject(error)
        break
      }
    }
  }

  #call(request: EngineRequest, pending: Omit<Pending, 'resolve' | 'reject'> = {}, signal?: AbortSignal): Promise<EngineInfo | null> {
    return new Promise((resolve, reject) => {
      if (this.#closed !== null) {
        reject(new InferenceError(this.#closed))
        return
      }
      if (signal?.aborted) {
        reject(new AbortError('aborted'))
        return
      }
      this.#pending.set(request.id, { ...pending, resolve, reject })
      signal?.addEventListener('abort', () => this.endpoint.postMessage({ kind: 'abort', id: request.id } satisfies EngineRequest), { once: true })
      this.endpoint.postMessage(request)
    })
  }

  async load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    await this.#call({ kind: 'load', id: this.#nextId++ }, { onProgress }, signal)
  }

  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    const id = this.#nextId++
    const queue = new AsyncQueue<ChatChunk>(() => this.endpoint.postMessage({ kind: 'abort', id } satisfies EngineRequest))
    this.#call({ kind: 'chat', id, payload: request }, { queue }, signal).catch((error: unknown) => queue.fail(error))
    return queue
  }

  info(): EngineInfo {
    return this.#info
  }

  /** Asks the far side for fresh figures (tokens/s are measured there). */
  async refreshInfo(): Promise<EngineInfo> {
    return (await this.#call({ kind: 'info', id: this.#nextId++ })) ?? this.#info
  }

  async unload(): Promise<void> {
    await this.#call({ kind: 'unload', id: this.#nextId++ })
  }

  /** Stops listening; pending calls fail. */
  dispose(reason = 'the engine is unloaded'): void {
    this.#closed ??= reason
    this.endpoint.removeEventListener('message', this.#onMessage)
    for (const pending of this.#pending.values()) {
      const error = new InferenceError(reason)
      pending.queue?.fail(error)
      pending.reject(error)
    }
    this.#pending.clear()
  }
}

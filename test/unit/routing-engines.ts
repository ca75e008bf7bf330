// Small deterministic engines for the router's unit tests: no model, no network.
import { chunkFactory } from '../../src/inference/chunks'
import type { ChatChunk, ChatRequest, EngineAvailability, EngineInfo, EngineKind, EngineSupports, LoadProgress } from '../../src/inference/types'
import { throwIfAborted } from '../../src/shared/errors'
import type { Answerer, RouteEngine } from '../../src/swarm/routing/route-engine'

export interface FakeEngineOptions {
  kind: EngineKind
  modelId: string
  availability: EngineAvailability
  reason?: string
  /** The words it answers with, one chunk each. */
  words?: string[]
  /** Thrown before the first chunk. */
  failWith?: Error
  /** Told to the router as who answers. */
  answerer?: Answerer
  /** The window it reports; default 4096. */
  contextSize?: number
  /** Tools and JSON schemas; none by default. */
  supports?: EngineSupports
}

export class FakeEngine implements RouteEngine {
  readonly kind: EngineKind
  availability: EngineAvailability
  chats = 0
  /** Every request it was asked, as it received it. */
  readonly requests: ChatRequest[] = []

  constructor(private readonly options: FakeEngineOptions) {
    this.kind = options.kind
    this.availability = options.availability
  }

  load(onProgress: (progress: LoadProgress) => void): Promise<void> {
    onProgress({ phase: 'load', loadedBytes: 0, totalBytes: 0, text: 'fake' })
    return Promise.resolve()
  }

  async *chat(request: ChatRequest, signal?: AbortSignal, onAnswerer?: (answerer: Answerer) => void): AsyncGenerator<ChatChunk> {
    this.chats++
    this.requests.push(request)
    await Promise.resolve()
    throwIfAborted(signal)
    if (this.options.failWith) throw this.options.failWith
    if (this.options.answerer) onAnswerer?.(this.options.answerer)
    const chunks = chunkFactory(this.options.modelId)
    let first = true
    for (const word of this.options.words ?? ['hello']) {
      yield chunks.content(word, first)
      first = false
    }
    yield chunks.finish('stop', { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 })
  }

  info(): EngineInfo {
    return {
      kind: this.kind,
      modelId: this.options.modelId,
      contextSize: this.options.contextSize ?? 4096,
      availability: this.availability,
      supports: this.options.supports ?? { tools: false, jsonSchema: false },
      ...(this.options.reason ? { reason: this.options.reason } : {}),
      prefillTokensPerS: 0,
      decodeTokensPerS: 0,
    }
  }

  unload(): Promise<void> {
    return Promise.resolve()
  }
}

export async function textOf(chunks: AsyncIterable<ChatChunk>): Promise<string> {
  let text = ''
  for await (const chunk of chunks) text += chunk.choices[0].delta.content ?? ''
  return text
}

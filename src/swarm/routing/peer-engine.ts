import type { Engine } from '../../inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo, LoadProgress } from '../../inference/types'
import { InferenceError, throwIfAborted } from '../../shared/errors'
import type { MarketNode } from '../../market'
import { askSwarm } from './swarm-engine'

/** What the market can place; each peer's own context limit applies when it bids. */
const assumedContextSize = 4096

/**
 * The swarm as one more engine: a chat becomes a task in the room's market, and the peer that
 * wins it streams the answer. For the caller it is an Engine like any other (and it passes the
 * same acceptance suite); `lastExecutor` says which node answered.
 */
export class PeerEngine implements Engine {
  readonly kind = 'peer'
  #info: EngineInfo = { kind: 'peer', modelId: 'swarm', contextSize: assumedContextSize, availability: 'ready', prefillTokensPerS: 0, decodeTokensPerS: 0 }
  #closed = false
  #lastExecutor = ''

  constructor(private readonly market: MarketNode) {}

  load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    this.#closed = false
    onProgress({ phase: 'load', loadedBytes: 0, totalBytes: 0, text: 'answers come from the peers of the room' })
    return Promise.resolve()
  }

  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
    if (this.#closed) throw new InferenceError('the peer engine is unloaded')
    throwIfAborted(signal)
    const startedMs = performance.now()
    let firstMs = 0
    for await (const chunk of askSwarm(this.market, request, signal, (nodeId) => (this.#lastExecutor = nodeId))) {
      if (!firstMs && chunk.choices[0].delta.content) firstMs = performance.now()
      if (chunk.usage && firstMs) this.#measure(chunk.usage, startedMs, firstMs)
      yield chunk
    }
  }

  /** Seen from the poster: market and network time included, as the user waits for them. */
  #measure(usage: NonNullable<ChatChunk['usage']>, startedMs: number, firstMs: number): void {
    const prefillS = (firstMs - startedMs) / 1000
    const decodeS = (performance.now() - firstMs) / 1000
    this.#info = {
      ...this.#info,
      prefillTokensPerS: prefillS > 0 ? usage.prompt_tokens / prefillS : this.#info.prefillTokensPerS,
      decodeTokensPerS: decodeS > 0 && usage.completion_tokens > 1 ? (usage.completion_tokens - 1) / decodeS : this.#info.decodeTokensPerS,
    }
  }

  get lastExecutor(): string {
    return this.#lastExecutor
  }

  info(): EngineInfo {
    return this.#info
  }

  unload(): Promise<void> {
    this.#closed = true
    return Promise.resolve()
  }
}

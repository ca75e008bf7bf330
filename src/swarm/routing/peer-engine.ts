import { callDeltas, chunkFactory } from '../../inference/chunks'
import { refuseUnsupported } from '../../inference/supports'
import { ToolOutput } from '../../inference/tool-output'
import type { ChatChunk, ChatRequest, EngineInfo, EngineSupports, LoadProgress } from '../../inference/types'
import { estimateCount, generationPromptTokens } from '../../inference/tokens'
import { InferenceError, throwIfAborted } from '../../shared/errors'
import { toolCallText } from '../../shared/tool-calls'
import { servesPeers, type MarketNode } from '../../market'
import type { LivePeer } from '../../market/types'
import { chunksOfTask } from '../../market/task-chunks'
import type { Answerer, RouteEngine } from './route-engine'

/** The window assumed when no ready peer advertises its own (an older build); each peer's own limit still applies when it bids. */
const assumedContextSize = 4096
const defaultAnswerTokens = 256
/** The model of an executor whose presence does not say it (it left, or has not told yet). */
const unknownPeerModel = 'peer model'

/** A peer that could take a task: its model is loaded and it serves peers (its presence says so). */
function hasModelReady(peer: LivePeer): boolean {
  return (peer.engine?.state === 'ready' || peer.engine?.state === 'busy') && servesPeers(peer)
}

/**
 * A task's chunks with the calls in its result text (Qwen3's format, as the executor wrote them)
 * as `tool_calls`. Only calls to functions the request `offered` count: a hostile executor's call
 * to anything else stays text, as the relay's swarm backend has it.
 */
async function* withToolCalls(source: AsyncIterable<ChatChunk>, offered: ReadonlySet<string>): AsyncGenerator<ChatChunk> {
  const output = new ToolOutput(false)
  let chunks: ReturnType<typeof chunkFactory> | undefined
  let first = true
  for await (const chunk of source) {
    chunks ??= chunkFactory(chunk.model, chunk.id)
    const choice = chunk.choices[0]
    if (choice.finish_reason === null) {
      const text = output.push(choice.delta.content ?? '')
      if (text) yield chunks.content(text, first)
      first &&= text === ''
      continue
    }
    const ended = output.end()
    const calls = ended.calls.filter((call) => offered.has(call.name))
    const stray = ended.calls.filter((call) => !offered.has(call.name)).map((call) => toolCallText(call.name, call.arguments))
    const content = [ended.content, ...stray].filter(Boolean).join('\n')
    if (content) yield chunks.content(content, first)
    first &&= content === ''
    const called = calls.length > 0 && choice.finish_reason !== 'abort'
    if (called) yield chunks.toolCalls(callDeltas(calls), first)
    yield called ? { ...chunk, choices: [{ ...choice, finish_reason: 'tool_calls' }] } : chunk
  }
}

/**
 * The swarm as one more engine: a chat becomes a task in the room's market, and the peer that
 * wins it streams the answer. For the caller it is an Engine like any other (and it passes the
 * same acceptance suite). It is available only while a verified peer of the room has a model
 * ready (`livePeers` are the verified ones); `chat` says who answers, `lastExecutor` who did last.
 */
export class PeerEngine implements RouteEngine {
  readonly kind = 'peer'
  #speed = { prefillTokensPerS: 0, decodeTokensPerS: 0 }
  #closed = false
  #lastExecutor = ''

  constructor(
    private readonly market: Pick<MarketNode, 'submit'>,
    private readonly livePeers: () => readonly LivePeer[],
  ) {}

  load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    this.#closed = false
    onProgress({ phase: 'load', loadedBytes: 0, totalBytes: 0, text: 'answers come from the peers of the room' })
    return Promise.resolve()
  }

  /** Posts `request` to the market and streams the winner's answer; `onAnswerer` hears each executor once. */
  async *chat(request: ChatRequest, signal?: AbortSignal, onAnswerer?: (answerer: Answerer) => void): AsyncGenerator<ChatChunk> {
    if (this.#closed) throw new InferenceError('the peer engine is unloaded')
    throwIfAborted(signal)
    refuseUnsupported(request, this.info().supports, 'the swarm')
    // Only peers whose window holds the prompt (as fitted, counted conservatively) and the answer bid.
    const contextSize = estimateCount(request.messages).perMessage.reduce((total, tokens) => total + tokens, generationPromptTokens) + (request.max_tokens ?? defaultAnswerTokens)
    const handle = this.market.submit(request, { contextSize })
    const onAbort = (): void => handle.cancel()
    signal?.addEventListener('abort', onAbort, { once: true })
    let executor = ''
    const onExecutor = (nodeId: string): void => {
      if (nodeId === executor) return
      executor = nodeId
      this.#lastExecutor = nodeId
      onAnswerer?.({ nodeId, modelId: this.#modelOf(nodeId) })
    }
    const startedMs = performance.now()
    let firstMs = 0
    try {
      for await (const chunk of withToolCalls(chunksOfTask(handle, onExecutor, signal), new Set(request.tools?.map((tool) => tool.function.name)))) {
        if (!firstMs && chunk.choices[0].delta.content) firstMs = performance.now()
        if (chunk.usage && firstMs) this.#measure(chunk.usage, startedMs, firstMs)
        yield chunk
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** The largest window a ready peer advertises: a chat fitted to it can still find a peer that takes it. */
  #largestWindow(): number {
    let largest = 0
    for (const peer of this.livePeers()) if (hasModelReady(peer)) largest = Math.max(largest, peer.engine?.contextSize ?? 0)
    return largest || assumedContextSize
  }

  #modelOf(nodeId: string): string {
    return this.livePeers().find((peer) => peer.nodeId === nodeId)?.engine?.modelId || unknownPeerModel
  }

  /** Seen from the poster: market and network time included, as the user waits for them. */
  #measure(usage: NonNullable<ChatChunk['usage']>, startedMs: number, firstMs: number): void {
    const prefillS = (firstMs - startedMs) / 1000
    const decodeS = (performance.now() - firstMs) / 1000
    this.#speed = {
      prefillTokensPerS: prefillS > 0 ? usage.prompt_tokens / prefillS : this.#speed.prefillTokensPerS,
      decodeTokensPerS: decodeS > 0 && usage.completion_tokens > 1 ? (usage.completion_tokens - 1) / decodeS : this.#speed.decodeTokensPerS,
    }
  }

  /** The node that answered the latest chat ('' before any). */
  get lastExecutor(): string {
    return this.#lastExecutor
  }

  /** What the ready peers' engines do beyond text, as their presence says: a task needing it finds a bidder. */
  #supports(): EngineSupports {
    const ready = this.livePeers().filter(hasModelReady)
    return { tools: ready.some((peer) => peer.engine?.supports?.tools === true), jsonSchema: ready.some((peer) => peer.engine?.supports?.jsonSchema === true) }
  }

  info(): EngineInfo {
    const base = { kind: 'peer', modelId: 'swarm', contextSize: this.#largestWindow(), supports: this.#supports(), ...this.#speed } as const
    if (this.#closed) return { ...base, availability: 'unavailable', reason: 'the peer engine is unloaded' }
    if (!this.livePeers().some(hasModelReady)) return { ...base, availability: 'unavailable', reason: 'no peer in this room has a model ready' }
    return { ...base, availability: 'ready' }
  }

  unload(): Promise<void> {
    this.#closed = true
    return Promise.resolve()
  }
}

import type { Engine } from '../inference/engine'
import type { LocalEngine } from '../inference/local-engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../inference/types'
import { chunkFactory } from '../inference/chunks'
import type { MarketNode } from './market'
import type { LivePeer, TaskEvent, TaskHandle } from './market'
import type { Peer } from './peers'

/** Guessed one-way delay to a peer until we measure it. */
const assumedLinkDelayMs = 20

/**
 * The local engine as the market's executor sees it. The executor judges its own capability
 * from `info().kind`: it is 'webgpu' or 'wasm' only while the model is ready, so a node that is
 * still downloading never bids. Load and unload stay with the app.
 */
export function executorEngine(local: LocalEngine): Engine {
  return {
    get kind() {
      return readyKind(local) ?? 'peer'
    },
    load: () => Promise.resolve(),
    chat: (request, signal) => local.chat(request, signal),
    info: (): EngineInfo => {
      const status = local.status()
      return { kind: readyKind(local) ?? 'peer', modelId: status.modelId, contextSize: 0, prefillTokensPerS: status.prefillTokensPerS, decodeTokensPerS: status.decodeTokensPerS }
    },
    unload: () => Promise.resolve(),
  }
}

function readyKind(local: LocalEngine): 'webgpu' | 'wasm' | null {
  const { kind, state } = local.status()
  return (state === 'ready' || state === 'busy') && kind !== 'none' ? kind : null
}

/**
 * The room's peers as the market needs them (bidding waves, "every capable peer has bid", the
 * gateway's ready-peer wait): only verified peers, those whose presence is signed by their own
 * key for this room and live (`compatible`); refused and unverified states never count.
 */
export function livePeersOf(peers: readonly Peer[]): LivePeer[] {
  return peers.flatMap((peer) =>
    peer.compatible && peer.presence
      ? [{ nodeId: peer.nodeId, engine: peer.presence.engine ?? null, queueLength: peer.presence.queue ?? 0, visible: peer.presence.visible, linkDelayMs: assumedLinkDelayMs }]
      : [],
  )
}

/** A task event as the text its reader sees: a restart is said in brackets between paragraphs. */
export function taskEventText(event: TaskEvent): string {
  return event.type === 'text' ? event.text : `\n\n[${event.reason}: node ${event.executor.slice(0, 8)} starts over]\n\n`
}

/** A task's events as OpenAI chunks; a change of executor is said in the text, once. */
export async function* chunksOfTask(handle: TaskHandle, onExecutor: (nodeId: string) => void, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
  const chunks = chunkFactory('swarm', `chatcmpl-${handle.id}`)
  const events = handle.chunks[Symbol.asyncIterator]()
  // Stopping ends this stream at once, whatever the market does with the cancelled task.
  const stopped = new Promise<IteratorResult<TaskEvent>>((resolve) => {
    if (signal?.aborted) resolve({ done: true, value: undefined })
    signal?.addEventListener('abort', () => resolve({ done: true, value: undefined }), { once: true })
  })
  let first = true
  let completed = false
  try {
    for (;;) {
      const ended: IteratorResult<TaskEvent> = { done: true, value: undefined }
      // Cancelling fails the task's stream; when we are the ones who stopped, that is just the end.
      const next = await Promise.race([events.next().catch((error: unknown) => (signal?.aborted ? ended : Promise.reject(error as Error))), stopped])
      if (next.done) break
      const event = next.value
      onExecutor(event.executor)
      yield chunks.content(taskEventText(event), first)
      first = false
    }
    completed = true
    if (signal?.aborted) {
      yield chunks.finish('abort')
      return
    }
    const result = await handle.result
    onExecutor(result.executor)
    yield chunks.finish(result.finish, result.usage)
  } finally {
    if (!completed || signal?.aborted) handle.cancel()
    void events.return?.()
  }
}

/** Posts a chat request to the room's market and streams the answer of whoever runs it. */
export function askSwarm(market: MarketNode, request: ChatRequest, signal: AbortSignal | undefined, onExecutor: (nodeId: string) => void): AsyncGenerator<ChatChunk> {
  const handle = market.submit(request)
  signal?.addEventListener('abort', () => handle.cancel(), { once: true })
  return chunksOfTask(handle, onExecutor, signal)
}

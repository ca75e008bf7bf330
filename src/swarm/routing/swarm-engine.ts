import type { Engine } from '../../inference/engine'
import type { LocalEngine } from '../../inference/local-engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../../inference/types'
import type { MarketNode } from '../../market'
import { chunksOfTask } from '../../market/task-chunks'

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

/** Posts a chat request to the room's market and streams the answer of whoever runs it. */
export function askSwarm(market: MarketNode, request: ChatRequest, signal: AbortSignal | undefined, onExecutor: (nodeId: string) => void): AsyncGenerator<ChatChunk> {
  const handle = market.submit(request)
  signal?.addEventListener('abort', () => handle.cancel(), { once: true })
  return chunksOfTask(handle, onExecutor, signal)
}

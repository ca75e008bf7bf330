import type { ChatChunk, ChatRequest } from '../../inference/types'
import type { MarketNode } from '../../market'
import { chunksOfTask } from '../../market/task-chunks'

/** Posts a chat request to the room's market and streams the answer of whoever runs it. */
export function askSwarm(market: MarketNode, request: ChatRequest, signal: AbortSignal | undefined, onExecutor: (nodeId: string) => void): AsyncGenerator<ChatChunk> {
  const handle = market.submit(request)
  signal?.addEventListener('abort', () => handle.cancel(), { once: true })
  return chunksOfTask(handle, onExecutor, signal)
}

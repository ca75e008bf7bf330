import type { Engine } from '../../inference/engine'
import type { ChatChunk, ChatRequest } from '../../inference/types'

/** Who answers a chat: a node id (this node's, a peer's, or 'relay') and the model it runs. */
export interface Answerer {
  nodeId: string
  modelId: string
}

/**
 * An Engine as the router holds it. Any Engine is one: `onAnswerer` is optional, for engines
 * whose answerer is known only once the chat runs (the peer engine: the market's winner, which
 * may change on a re-award). The router names the others by their route.
 */
export interface RouteEngine extends Engine {
  chat(request: ChatRequest, signal?: AbortSignal, onAnswerer?: (answerer: Answerer) => void): AsyncIterable<ChatChunk>
}

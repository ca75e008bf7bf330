import type { LocalEngine } from '../inference/local-engine'
import type { ChatChunk, ChatRequest } from '../inference/types'
import { EngineUnavailableError } from '../shared/errors'
import type { MarketNode } from './market'
import type { Peer } from './peers'
import { askSwarm } from './swarm-engine'

export type RouteChoice = 'auto' | 'local' | 'swarm' | 'relay'

/** An answer on its way: where it runs and, once known, which node runs it. */
export interface RoutedAnswer {
  route: 'local' | 'swarm'
  chunks: AsyncIterable<ChatChunk>
  answeredBy(): string
}

export interface RouterDeps {
  nodeId: string
  local: LocalEngine
  market: MarketNode
  peers: () => readonly Peer[]
}

const localStates = new Set(['ready', 'busy', 'loading', 'downloading'])

function peerCanAnswer(peer: Peer): boolean {
  const state = peer.presence?.engine?.state
  return peer.compatible && (state === 'ready' || state === 'busy')
}

/**
 * Decides where a chat runs: here when this node has (or is getting) a model, else on the
 * peer the market picks; `route` forces one. Until the micro-net router lands, that is the rule.
 */
export function routeChat(request: ChatRequest, route: RouteChoice, deps: RouterDeps, signal?: AbortSignal): RoutedAnswer {
  if (route === 'relay') throw new EngineUnavailableError('the relay route is not available yet')
  const localUsable = localStates.has(deps.local.status().state)
  const chosen = route === 'auto' ? (localUsable ? 'local' : 'swarm') : route
  if (chosen === 'local') {
    return { route: 'local', chunks: deps.local.chat(request, signal), answeredBy: () => deps.nodeId }
  }
  if (route === 'auto' && !deps.peers().some(peerCanAnswer)) {
    throw new EngineUnavailableError(`${deps.local.status().message ?? 'No local model.'} No peer in this room has a model ready either: open the room on a device with one, or wait for a peer to finish loading.`)
  }
  let executor = ''
  return { route: 'swarm', chunks: askSwarm(deps.market, request, signal, (nodeId) => (executor = nodeId)), answeredBy: () => executor }
}

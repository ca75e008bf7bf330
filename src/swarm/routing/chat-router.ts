import type { LocalEngine } from '../../inference/local-engine'
import { RelayUnavailableError, type RelayEngine } from '../../inference/relay-engine'
import type { ChatChunk, ChatRequest } from '../../inference/types'
import { EngineUnavailableError } from '../../shared/errors'
import type { Route, RouteDecision } from '../../micronets/router'
import type { MarketNode } from '../../market'
import type { Peer } from '../../market/presence/peers'
import { askSwarm } from './swarm-engine'

export type RouteChoice = 'auto' | 'local' | 'swarm' | 'relay'

/** An answer on its way: where it runs and, once known, which node and model run it. */
export interface RoutedAnswer {
  route: Route
  chunks: AsyncIterable<ChatChunk>
  /** The router's advice when the route was left to it ('auto'); null when the user chose. */
  decision: RouteDecision | null
  answeredBy(): string
  model(): string
  /** Set when the answer did not run where it was sent, and why. */
  note(): string
}

export interface RouterDeps {
  nodeId: string
  local: LocalEngine
  market: MarketNode
  peers: () => readonly Peer[]
  relay: RelayEngine
  relayReady: () => boolean
  /** The micro-net router: where a request should run, and how sure it is. */
  decide: (request: ChatRequest) => Promise<RouteDecision>
}

const localStates = new Set(['ready', 'busy', 'loading', 'downloading'])

function peerCanAnswer(peer: Peer): boolean {
  const state = peer.presence?.engine?.state
  return peer.compatible && (state === 'ready' || state === 'busy')
}

/**
 * Where the router's advice can run now: its own route when that is available, else the
 * nearest one that is (a small model here or on a peer stand in for each other; the relay
 * stands in for both), with the reason; null when nothing can answer.
 */
export function availableRoute(advice: Route, available: Record<Route, boolean>): { route: Route; note: string } | null {
  const fallbacks: Record<Route, Route[]> = { local: ['local', 'swarm', 'relay'], swarm: ['swarm', 'local', 'relay'], relay: ['relay', 'local', 'swarm'] }
  const why: Record<Route, string> = { local: 'no local model', swarm: 'no peer with a model', relay: 'relay not reachable' }
  const route = fallbacks[advice].find((candidate) => available[candidate])
  if (route === undefined) return null
  return { route, note: route === advice ? '' : `${why[advice]}: ran ${route === 'local' ? 'locally' : route === 'swarm' ? 'on a peer' : 'on the relay'}` }
}

/**
 * Decides where a chat runs. `auto` asks the micro-net router (local, a peer, or the relay's
 * big model) and runs there, or at the nearest route that is available; any other `route`
 * forces it. A relay that cannot be reached falls back to local, with a note.
 */
export async function routeChat(request: ChatRequest, route: RouteChoice, deps: RouterDeps, signal?: AbortSignal): Promise<RoutedAnswer> {
  if (route === 'relay') return viaRelay(request, deps, null, signal)
  if (route === 'local') return viaLocal(request, deps, null, signal)
  if (route === 'swarm') return viaSwarm(request, deps, null, signal)
  const decision = await deps.decide(request)
  const available = { local: localStates.has(deps.local.status().state), swarm: deps.peers().some(peerCanAnswer), relay: deps.relayReady() }
  const chosen = availableRoute(decision.route, available)
  if (!chosen) throw new EngineUnavailableError(`${deps.local.status().message ?? 'No local model.'} No peer in this room has a model ready either, and the relay does not answer: open the room on a device with one, or wait for a peer to finish loading.`)
  if (chosen.route === 'relay') return viaRelay(request, deps, decision, signal)
  if (chosen.route === 'local') return viaLocal(request, deps, decision, signal, chosen.note)
  return viaSwarm(request, deps, decision, signal, chosen.note)
}

function viaSwarm(request: ChatRequest, deps: RouterDeps, decision: RouteDecision | null, signal?: AbortSignal, note = ''): RoutedAnswer {
  let executor = ''
  return { route: 'swarm', decision, chunks: askSwarm(deps.market, request, signal, (nodeId) => (executor = nodeId)), answeredBy: () => executor, model: () => 'peer model', note: () => note }
}

function viaLocal(request: ChatRequest, deps: RouterDeps, decision: RouteDecision | null, signal?: AbortSignal, note = ''): RoutedAnswer {
  return { route: 'local', decision, chunks: deps.local.chat(request, signal), answeredBy: () => deps.nodeId, model: () => deps.local.status().modelId, note: () => note }
}

function viaRelay(request: ChatRequest, deps: RouterDeps, decision: RouteDecision | null, signal?: AbortSignal): RoutedAnswer {
  let fellBack: RoutedAnswer | null = null
  async function* chunks(): AsyncGenerator<ChatChunk> {
    let streamed = false
    try {
      for await (const chunk of deps.relay.chat(request, signal)) {
        streamed = true
        yield chunk
      }
    } catch (error) {
      if (streamed || !(error instanceof RelayUnavailableError) || !localStates.has(deps.local.status().state)) throw error
      fellBack = viaLocal(request, deps, decision, signal, `${error.message}: answered locally`)
      yield* fellBack.chunks
    }
  }
  return {
    get route() {
      return fellBack ? 'local' : 'relay'
    },
    decision,
    chunks: chunks(),
    answeredBy: () => (fellBack ? deps.nodeId : 'relay'),
    model: () => fellBack?.model() ?? deps.relay.info().modelId,
    note: () => fellBack?.note() ?? '',
  }
}

import type { LocalEngine } from '../inference/local-engine'
import { RelayUnavailableError, type RelayEngine } from '../inference/relay-engine'
import type { ChatChunk, ChatRequest } from '../inference/types'
import { EngineUnavailableError } from '../shared/errors'
import type { MarketNode } from './market'
import type { Peer } from './peers'
import { askSwarm } from './swarm-engine'

export type RouteChoice = 'auto' | 'local' | 'swarm' | 'relay'

/** An answer on its way: where it runs and, once known, which node and model run it. */
export interface RoutedAnswer {
  route: 'local' | 'swarm' | 'relay'
  chunks: AsyncIterable<ChatChunk>
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
}

const localStates = new Set(['ready', 'busy', 'loading', 'downloading'])
/** Past this many characters of prompt, a 1.7B model loses the thread: escalate when we can. */
export const escalateAboveChars = 12_000
const escalateAboveCodeBlocks = 4

function peerCanAnswer(peer: Peer): boolean {
  const state = peer.presence?.engine?.state
  return peer.compatible && (state === 'ready' || state === 'busy')
}

/**
 * The rule until the micro-net router lands, transparent on purpose: very long prompts and
 * code-heavy ones go to the relay's big model (when it answers), the rest stays in the swarm.
 */
export function shouldEscalate(request: ChatRequest): boolean {
  const text = request.messages.map((message) => message.content).join('\n')
  return text.length > escalateAboveChars || (text.match(/```/g)?.length ?? 0) / 2 >= escalateAboveCodeBlocks
}

/**
 * Decides where a chat runs: here when this node has (or is getting) a model, else on the peer
 * the market picks, escalated to the relay by `shouldEscalate`; `route` forces one. A relay that
 * cannot be reached falls back to local, with a note.
 */
export function routeChat(request: ChatRequest, route: RouteChoice, deps: RouterDeps, signal?: AbortSignal): RoutedAnswer {
  const localUsable = localStates.has(deps.local.status().state)
  const chosen = route !== 'auto' ? route : deps.relayReady() && shouldEscalate(request) ? 'relay' : localUsable ? 'local' : 'swarm'
  if (chosen === 'relay') return viaRelay(request, deps, signal)
  if (chosen === 'local') return viaLocal(request, deps, signal)
  if (route === 'auto' && !deps.peers().some(peerCanAnswer)) {
    throw new EngineUnavailableError(`${deps.local.status().message ?? 'No local model.'} No peer in this room has a model ready either: open the room on a device with one, or wait for a peer to finish loading.`)
  }
  let executor = ''
  return { route: 'swarm', chunks: askSwarm(deps.market, request, signal, (nodeId) => (executor = nodeId)), answeredBy: () => executor, model: () => 'peer model', note: () => '' }
}

function viaLocal(request: ChatRequest, deps: RouterDeps, signal?: AbortSignal, note = ''): RoutedAnswer {
  return { route: 'local', chunks: deps.local.chat(request, signal), answeredBy: () => deps.nodeId, model: () => deps.local.status().modelId, note: () => note }
}

function viaRelay(request: ChatRequest, deps: RouterDeps, signal?: AbortSignal): RoutedAnswer {
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
      fellBack = viaLocal(request, deps, signal, `${error.message}: answered locally`)
      yield* fellBack.chunks
    }
  }
  return {
    get route() {
      return fellBack ? 'local' : 'relay'
    },
    chunks: chunks(),
    answeredBy: () => (fellBack ? deps.nodeId : 'relay'),
    model: () => fellBack?.model() ?? deps.relay.info().modelId,
    note: () => fellBack?.note() ?? '',
  }
}

import type { ChatChunk, ChatRequest, EngineKind } from '../../inference/types'
import { canServe, needs } from '../../inference/supports'
import { AbortError, EngineUnavailableError, UnsupportedRequestError, throwIfAborted } from '../../shared/errors'
import type { Route, RouteDecision } from '../../micronets/router'
import { fittedChat, type ChatFit, type ConversationContext } from '../context/fitted-chat'
import type { Answerer, RouteEngine } from './route-engine'

export type RouteChoice = 'auto' | Route

/** An answer on its way: where it runs and, once known, which node, engine and model run it. */
export interface RoutedAnswer {
  /** The route that ran: 'local' once a relay answer fell back to this node. */
  readonly route: Route
  chunks: AsyncIterable<ChatChunk>
  /** The router's advice when the route was left to it ('auto'); null when the user chose, or the router was too slow. */
  decision: RouteDecision | null
  /** This node's id, a peer's, or 'relay'. */
  answeredBy(): string
  /** The kind of engine that ran it. */
  engine(): EngineKind
  model(): string
  /** Set when the answer did not run where it was sent, and why. */
  note(): string
  /** How the conversation was fitted to the window of the engine that ran it; null until it has been. */
  fit(): ChatFit | null
}

export interface RouterDeps {
  /** This node's id: who answers on the local route. */
  nodeId: string
  /** The engine of each route; a route with none is never available. */
  engines: Partial<Record<Route, RouteEngine>>
  /** The micro-net router's advice: where a request should run, and how sure it is. */
  decide: (request: ChatRequest, signal: AbortSignal) => Promise<RouteDecision>
  /** How long the advice may take; default `routerPatienceMs`. */
  patienceMs?: number
  /** How long the first advice may take; default `coldRouterPatienceMs`. */
  coldPatienceMs?: number
}

/** How long an `auto` chat waits for the router's advice before it runs on the default route. */
export const routerPatienceMs = 1_500
/**
 * The same for the router's first advice, which starts its runtime: onnxruntime fetches and
 * compiles its wasm in the micro-net worker, measured at 1.8–2.8 s on a busy two-core machine.
 */
export const coldRouterPatienceMs = 10_000

/** A question may wait for this node's own model to finish loading; a peer's or the relay's must be ready now. */
const waitsForLoad: Record<Route, boolean> = { local: true, swarm: false, relay: false }
const routes: readonly Route[] = ['local', 'swarm', 'relay']
const fallbacks: Record<Route, Route[]> = { local: ['local', 'swarm', 'relay'], swarm: ['swarm', 'local', 'relay'], relay: ['relay', 'local', 'swarm'] }
const missing: Record<Route, string> = { local: 'no local model', swarm: 'no peer with a model', relay: 'relay not reachable' }
const ranWhere: Record<Route, string> = { local: 'locally', swarm: 'on a peer', relay: 'on the relay' }
/** A route whose engine cannot be reached before it answers hands the chat to this one. */
const standIn: Partial<Record<Route, Route>> = { relay: 'local' }
/** Where a chat runs when the router has no advice in time. */
const defaultRoute: Route = 'local'

/**
 * Where the router's advice can run now: its own route when that is available, else the
 * nearest one that is (a small model here or on a peer stand in for each other; the relay
 * stands in for both), with the reason; null when nothing can answer.
 */
export function availableRoute(advice: Route, available: Record<Route, boolean>): { route: Route; note: string } | null {
  const route = fallbacks[advice].find((candidate) => available[candidate])
  if (route === undefined) return null
  return { route, note: route === advice ? '' : `${missing[advice]}: ran ${ranWhere[route]}` }
}

function usable(deps: RouterDeps, route: Route): boolean {
  const availability = deps.engines[route]?.info().availability
  return availability === 'ready' || (availability === 'loading' && waitsForLoad[route])
}

/**
 * Whether `route` can run `request` now: usable, and (once ready, when its engine knows) able
 * to do the tools and JSON schemas it asks for. An engine still loading is given the benefit of
 * the doubt: it refuses with UnsupportedRequestError itself if it cannot.
 */
function serves(deps: RouterDeps, route: Route, request: ChatRequest): boolean {
  const info = deps.engines[route]?.info()
  return usable(deps, route) && (info?.availability !== 'ready' || canServe(request, info.supports))
}

/** What `request` needs beyond text, in words ('tools', 'JSON output'). */
function neededWords(request: ChatRequest): string {
  const needed = needs(request)
  return [needed.tools ? 'tools' : '', needed.jsonSchema ? 'JSON output' : ''].filter(Boolean).join(' and ')
}

/**
 * Decides where a chat runs. `auto` asks the micro-net router (local, a peer, or the relay's
 * big model) and runs there, or at the nearest route that is available; a router slower than
 * its patience is not waited for (the default route runs, with a note). Any other route forces
 * it. A relay that cannot be reached falls back to local, with a note. Stopping while the router
 * decides rejects with AbortError at once.
 */
export class ChatRouter {
  /** The router's first advice starts its runtime, so it is given longer; true once one came (late or not). */
  #advised = false

  constructor(private readonly deps: RouterDeps) {}

  /** `context`: the conversation's summary and where a new one goes; without it the history is only dropped to fit. */
  async route(request: ChatRequest, route: RouteChoice, signal?: AbortSignal, context?: ConversationContext): Promise<RoutedAnswer> {
    const deps = this.deps
    if (route !== 'auto') return routed(route, request, deps, null, '', signal, context)
    const patienceMs = this.#advised ? (deps.patienceMs ?? routerPatienceMs) : (deps.coldPatienceMs ?? coldRouterPatienceMs)
    const decide = (deciding: AbortSignal): Promise<RouteDecision> => {
      const advice = deps.decide(request, deciding)
      void advice.then(() => (this.#advised = true)).catch(() => undefined)
      return advice
    }
    const decision = await adviceWithin(decide, patienceMs, signal)
    const available: Record<Route, boolean> = { local: serves(deps, 'local', request), swarm: serves(deps, 'swarm', request), relay: serves(deps, 'relay', request) }
    const advice = decision?.route ?? defaultRoute
    const chosen = availableRoute(advice, available)
    const unserved = routes.filter((candidate) => usable(deps, candidate) && !available[candidate])
    if (!chosen && unserved.length > 0)
      throw new UnsupportedRequestError(
        `no engine that can answer now supports ${neededWords(request)} (${unserved.map((candidate) => `${candidate}: ${deps.engines[candidate]?.info().modelId ?? ''}`).join(', ')})`,
      )
    if (!chosen) {
      const local = deps.engines.local?.info()
      throw new EngineUnavailableError(
        `${local?.reason ?? 'No local model.'} No peer in this room has a model ready either, and the relay does not answer: open the room on a device with one, or wait for a peer to finish loading.`,
      )
    }
    const cannot = chosen.route !== advice && unserved.includes(advice) ? `the ${advice} engine does not support ${neededWords(request)}: ran ${ranWhere[chosen.route]}` : ''
    const note = decision ? cannot || chosen.note : `router slow (over ${patienceMs / 1000} s): ran ${ranWhere[chosen.route]}`
    return routed(chosen.route, request, deps, decision, note, signal, context)
  }
}

/** The router's advice, or null when it takes longer than `patienceMs`; AbortError as soon as `signal` stops it. */
function adviceWithin(decide: (deciding: AbortSignal) => Promise<RouteDecision>, patienceMs: number, signal: AbortSignal | undefined): Promise<RouteDecision | null> {
  throwIfAborted(signal)
  // The router hears both the user's stop and our giving up on it, so that it can stop working.
  const deciding = new AbortController()
  return new Promise<RouteDecision | null>((resolve, reject) => {
    const settle = (outcome: () => void): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onStop)
      deciding.abort()
      outcome()
    }
    const onStop = (): void => settle(() => reject(new AbortError('stopped while the router decided')))
    const timer = setTimeout(() => settle(() => resolve(null)), patienceMs)
    signal?.addEventListener('abort', onStop, { once: true })
    Promise.resolve()
      .then(() => decide(deciding.signal))
      .then(
        (decision) => settle(() => resolve(decision)),
        (error: unknown) => settle(() => reject(error instanceof Error ? error : new Error(String(error)))),
      )
  })
}

interface Attempt {
  route: Route
  chunks: AsyncIterable<ChatChunk>
  answerer: () => Answerer
  engine: () => EngineKind
  fit: () => ChatFit | null
}

function attempt(route: Route, request: ChatRequest, deps: RouterDeps, signal: AbortSignal | undefined, context: ConversationContext | undefined): Attempt {
  const engine = deps.engines[route]
  if (!engine) throw new EngineUnavailableError(`${missing[route]}: this node has no ${route} route`)
  let told: Answerer | null = null
  let fit: ChatFit | null = null
  return {
    route,
    // Fitted to the window of the engine that runs it: a peer's, the relay's or this node's.
    chunks: fittedChat(
      engine,
      request,
      context,
      (done) => (fit = done),
      signal,
      (answerer) => (told = answerer),
    ),
    fit: () => fit,
    answerer: () => told ?? { nodeId: route === 'local' ? deps.nodeId : route, modelId: engine.info().modelId },
    // Read when asked: the local engine settles its kind (WebGPU or WASM) while it loads.
    engine: () => engine.kind,
  }
}

/** Runs on `route`; a stand-in route takes over when the engine cannot be reached before its first chunk. */
function routed(route: Route, request: ChatRequest, deps: RouterDeps, decision: RouteDecision | null, note: string, signal: AbortSignal | undefined, context?: ConversationContext): RoutedAnswer {
  let ran = attempt(route, request, deps, signal, context)
  let fallbackNote = ''
  async function* chunks(): AsyncGenerator<ChatChunk> {
    let streamed = false
    try {
      for await (const chunk of ran.chunks) {
        streamed = true
        yield chunk
      }
    } catch (error) {
      const stand = standIn[route]
      if (streamed || stand === undefined || signal?.aborted || !(error instanceof EngineUnavailableError) || !serves(deps, stand, request)) throw error
      ran = attempt(stand, request, deps, signal, context)
      fallbackNote = `${error.message}: answered ${ranWhere[stand]}`
      yield* ran.chunks
    }
  }
  return {
    get route() {
      return ran.route
    },
    decision,
    chunks: chunks(),
    answeredBy: () => ran.answerer().nodeId,
    engine: () => ran.engine(),
    model: () => ran.answerer().modelId,
    note: () => [note, fallbackNote].filter(Boolean).join('; '),
    fit: () => ran.fit(),
  }
}

import { afterEach, describe, expect, test, vi } from 'vitest'
import type { Route, RouteDecision } from '../../src/micronets/router'
import type { ChatRequest, EngineAvailability } from '../../src/inference/types'
import { RelayUnavailableError } from '../../src/inference/relay-engine'
import { AbortError, EngineUnavailableError } from '../../src/shared/errors'
import { ChatRouter, coldRouterPatienceMs, routerPatienceMs, type RouteChoice, type RoutedAnswer, type RouterDeps } from '../../src/swarm/routing/chat-router'
import { FakeEngine, textOf } from './routing-engines'

const selfId = 'a'.repeat(64)
const peerId = 'b'.repeat(64)
const request = { messages: [{ role: 'user' as const, content: 'hi' }] }

interface Room {
  local: FakeEngine
  swarm: FakeEngine
  relay: FakeEngine
  deps: RouterDeps
}

function room(availability: Partial<Record<Route, EngineAvailability>> = {}, advice: Route = 'local', relayFails?: Error): Room {
  const local = new FakeEngine({ kind: 'wasm', modelId: 'tiny-local', availability: availability.local ?? 'ready', reason: 'No local model (engine=none).', words: ['local'] })
  const swarm = new FakeEngine({ kind: 'peer', modelId: 'swarm', availability: availability.swarm ?? 'ready', words: ['peer'], answerer: { nodeId: peerId, modelId: 'tiny-peer' } })
  const relay = new FakeEngine({ kind: 'relay', modelId: 'big-relay', availability: availability.relay ?? 'ready', words: ['relay'], ...(relayFails ? { failWith: relayFails } : {}) })
  const decide = (): Promise<RouteDecision> => Promise.resolve({ route: advice, confidence: 0.8 })
  return { local, swarm, relay, deps: { nodeId: selfId, engines: { local, swarm, relay }, decide } }
}

/** One chat through a fresh router (cold: its first advice may take `coldRouterPatienceMs`). */
function routeChat(request: ChatRequest, route: RouteChoice, deps: RouterDeps, signal?: AbortSignal): Promise<RoutedAnswer> {
  return new ChatRouter(deps).route(request, route, signal)
}

afterEach(() => {
  vi.useRealTimers()
})

describe('routeChat over Engines', () => {
  test('each forced route runs its engine, says who answered with which model, and takes no advice', async () => {
    const { deps } = room()
    const cases: [Route, string, string, string, string][] = [
      ['local', 'local', selfId, 'tiny-local', 'wasm'],
      ['swarm', 'peer', peerId, 'tiny-peer', 'peer'],
      ['relay', 'relay', 'relay', 'big-relay', 'relay'],
    ]
    for (const [route, text, nodeId, model, engine] of cases) {
      const answer = await routeChat(request, route, deps)
      expect(await textOf(answer.chunks)).toBe(text)
      expect({ route: answer.route, nodeId: answer.answeredBy(), model: answer.model(), engine: answer.engine(), decision: answer.decision, note: answer.note() }).toEqual({
        route,
        nodeId,
        model,
        engine,
        decision: null,
        note: '',
      })
    }
  })

  test('a forced route runs even when its engine says it is unavailable (the engine says why it cannot)', async () => {
    const { deps, swarm } = room({ swarm: 'unavailable' })
    const answer = await routeChat(request, 'swarm', deps)
    expect(await textOf(answer.chunks)).toBe('peer')
    expect(swarm.chats).toBe(1)
  })

  test('a route with no engine at all is a named error', async () => {
    const { local, relay } = room()
    await expect(routeChat(request, 'swarm', { nodeId: selfId, engines: { local, relay }, decide: () => Promise.resolve({ route: 'local', confidence: 1 }) })).rejects.toThrow(EngineUnavailableError)
  })

  const autoCases: { advice: Route; availability: Partial<Record<Route, EngineAvailability>>; route: Route; note: string }[] = [
    { advice: 'local', availability: {}, route: 'local', note: '' },
    { advice: 'swarm', availability: {}, route: 'swarm', note: '' },
    { advice: 'relay', availability: {}, route: 'relay', note: '' },
    // This node's model still loading: the question waits for it.
    { advice: 'local', availability: { local: 'loading' }, route: 'local', note: '' },
    { advice: 'local', availability: { local: 'unavailable' }, route: 'swarm', note: 'no local model: ran on a peer' },
    { advice: 'local', availability: { local: 'unavailable', swarm: 'unavailable' }, route: 'relay', note: 'no local model: ran on the relay' },
    // A peer or the relay must be ready now: loading does not count for them.
    { advice: 'swarm', availability: { swarm: 'loading' }, route: 'local', note: 'no peer with a model: ran locally' },
    { advice: 'swarm', availability: { swarm: 'unavailable', local: 'unavailable' }, route: 'relay', note: 'no peer with a model: ran on the relay' },
    { advice: 'relay', availability: { relay: 'loading' }, route: 'local', note: 'relay not reachable: ran locally' },
    { advice: 'relay', availability: { relay: 'unavailable', local: 'unavailable' }, route: 'swarm', note: 'relay not reachable: ran on a peer' },
  ]
  for (const { advice, availability, route, note } of autoCases) {
    test(`auto: advice ${advice}, ${JSON.stringify(availability)} → ${route}`, async () => {
      const answer = await routeChat(request, 'auto', room(availability, advice).deps)
      expect(answer.route).toBe(route)
      expect(answer.decision).toEqual({ route: advice, confidence: 0.8 })
      expect(answer.note()).toBe(note)
      expect(await textOf(answer.chunks)).toBe(route === 'swarm' ? 'peer' : route)
    })
  }

  test('auto with nothing available: EngineUnavailableError with the local reason and what to do', async () => {
    const { deps } = room({ local: 'unavailable', swarm: 'unavailable', relay: 'unavailable' })
    const failure = routeChat(request, 'auto', deps)
    await expect(failure).rejects.toThrow(EngineUnavailableError)
    await expect(failure).rejects.toThrow(/^No local model \(engine=none\)\. No peer in this room has a model ready either, and the relay does not answer/)
  })

  test('a relay that cannot be reached falls back to local, with the note', async () => {
    const { deps, local } = room({}, 'relay', new RelayUnavailableError('relay unreachable: connection refused'))
    const answer = await routeChat(request, 'relay', deps)
    expect(await textOf(answer.chunks)).toBe('local')
    expect(local.chats).toBe(1)
    expect({ route: answer.route, nodeId: answer.answeredBy(), model: answer.model(), engine: answer.engine(), note: answer.note() }).toEqual({
      route: 'local',
      nodeId: selfId,
      model: 'tiny-local',
      engine: 'wasm',
      note: 'relay unreachable: connection refused: answered locally',
    })
  })

  test('a relay refusal that is not unreachability is not hidden; no local model: the relay error stands', async () => {
    const refused = room({}, 'relay', new Error('relay refused the request (400): bad'))
    await expect(textOf((await routeChat(request, 'relay', refused.deps)).chunks)).rejects.toThrow('relay refused the request (400)')
    expect(refused.local.chats).toBe(0)
    const noLocal = room({ local: 'unavailable' }, 'relay', new RelayUnavailableError('relay unreachable: down'))
    await expect(textOf((await routeChat(request, 'relay', noLocal.deps)).chunks)).rejects.toThrow(RelayUnavailableError)
  })

  test('stopping while the router decides ends with AbortError at once, and the router hears the stop', async () => {
    const { deps } = room()
    let heard: AbortSignal | null = null
    // A router that never answers: only the stop can end the wait.
    deps.decide = (_request, signal) => {
      heard = signal
      return new Promise<RouteDecision>(() => undefined)
    }
    const controller = new AbortController()
    const routing = routeChat(request, 'auto', deps, controller.signal)
    await Promise.resolve()
    controller.abort()
    await expect(routing).rejects.toThrow(AbortError)
    expect(heard).not.toBeNull()
    expect((heard as AbortSignal | null)?.aborted).toBe(true)
  })

  test('an already stopped request is refused before the router is asked', async () => {
    const { deps } = room()
    const decide = vi.fn(deps.decide)
    const controller = new AbortController()
    controller.abort()
    await expect(routeChat(request, 'auto', { ...deps, decide }, controller.signal)).rejects.toThrow(AbortError)
    expect(decide).not.toHaveBeenCalled()
  })

  test('a router slower than its patience is not waited for: the default route runs, with a note', async () => {
    vi.useFakeTimers()
    const { deps } = room({}, 'relay')
    let delayMs = 0
    deps.decide = () => new Promise<RouteDecision>((resolve) => setTimeout(() => resolve({ route: 'relay', confidence: 0.9 }), delayMs))
    const router = new ChatRouter(deps)
    // The first advice comes at once: the router is warm from then on.
    const first = router.route(request, 'auto')
    await vi.advanceTimersByTimeAsync(0)
    expect((await first).route).toBe('relay')
    delayMs = routerPatienceMs * 10
    const routing = router.route(request, 'auto')
    let settled = false
    void routing.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(routerPatienceMs - 1)
    expect(settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const answer = await routing
    expect(answer.route).toBe('local')
    expect(answer.decision).toBeNull()
    expect(answer.note()).toBe('router slow (over 1.5 s): ran locally')
    expect(await textOf(answer.chunks)).toBe('local')
  })

  test('the first advice (the router starting its runtime) is given longer, but not for ever', async () => {
    vi.useFakeTimers()
    const { deps } = room({}, 'relay')
    let delayMs = routerPatienceMs * 3
    deps.decide = () => new Promise<RouteDecision>((resolve) => setTimeout(() => resolve({ route: 'relay', confidence: 0.9 }), delayMs))
    const patient = routeChat(request, 'auto', deps)
    await vi.advanceTimersByTimeAsync(delayMs)
    expect((await patient).route).toBe('relay')
    delayMs = coldRouterPatienceMs * 2
    const cold = routeChat(request, 'auto', deps)
    await vi.advanceTimersByTimeAsync(coldRouterPatienceMs)
    const answer = await cold
    expect(answer.route).toBe('local')
    expect(answer.note()).toBe(`router slow (over ${coldRouterPatienceMs / 1000} s): ran locally`)
  })

  test('a slow router with no local model: the default falls to the nearest available route', async () => {
    const { deps } = room({ local: 'unavailable' })
    deps.coldPatienceMs = 5
    deps.decide = () => new Promise<RouteDecision>(() => undefined)
    const answer = await routeChat(request, 'auto', deps)
    expect(answer.route).toBe('swarm')
    expect(answer.note()).toBe('router slow (over 0.005 s): ran on a peer')
  })

  test('a router that fails: its error stands', async () => {
    const { deps } = room()
    deps.decide = () => Promise.reject(new Error('worker gone'))
    await expect(routeChat(request, 'auto', deps)).rejects.toThrow('worker gone')
  })

  test('availability is read after the advice: a peer that became ready while deciding counts', async () => {
    const { deps, swarm } = room({ swarm: 'unavailable' }, 'swarm')
    deps.decide = () => {
      swarm.availability = 'ready'
      return Promise.resolve({ route: 'swarm', confidence: 0.6 })
    }
    expect((await routeChat(request, 'auto', deps)).route).toBe('swarm')
  })
})

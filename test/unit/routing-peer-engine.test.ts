import { describe, expect, test } from 'vitest'
import type { LivePeer, TaskEvent, TaskHandle, TaskResult } from '../../src/market'
import type { EnginePresence } from '../../src/shared/protocol'
import { InferenceError } from '../../src/shared/errors'
import { ChatRouter } from '../../src/swarm/routing/chat-router'
import { PeerEngine } from '../../src/swarm/routing/peer-engine'
import type { Answerer } from '../../src/swarm/routing/route-engine'
import { textOf } from './routing-engines'

const peerB = 'b'.repeat(64)
const peerC = 'c'.repeat(64)
const request = { messages: [{ role: 'user' as const, content: 'hi' }] }

function peer(nodeId: string, state: EnginePresence['state'], modelId = 'tiny-qwen3'): LivePeer {
  return { nodeId, engine: { kind: 'wasm', modelId, state, prefillTokensPerS: 10, decodeTokensPerS: 10 }, queueLength: 0, visible: true, linkDelayMs: 20 }
}

/** A market whose one task is answered by `events`, then `result`. */
function market(events: TaskEvent[], result: Omit<TaskResult, 'taskId'>): { submit: () => TaskHandle; cancelled: () => number } {
  let cancelled = 0
  return {
    cancelled: () => cancelled,
    submit: () => ({
      id: 't1',
      chunks: (async function* () {
        for (const event of events) yield await Promise.resolve(event)
      })(),
      result: Promise.resolve({ taskId: 't1', ...result }),
      cancel: () => {
        cancelled++
      },
    }),
  }
}

describe('PeerEngine', () => {
  test('ready only while a verified peer has a model ready or busy', () => {
    let peers: LivePeer[] = []
    const engine = new PeerEngine(market([], { text: '', finish: 'stop', executor: peerB, epoch: 1 }), () => peers)
    expect(engine.info()).toMatchObject({ kind: 'peer', availability: 'unavailable', reason: 'no peer in this room has a model ready' })
    peers = [peer(peerB, 'loading'), peer(peerC, 'downloading')]
    expect(engine.info().availability).toBe('unavailable')
    peers = [peer(peerB, 'loading'), peer(peerC, 'busy')]
    expect(engine.info().availability).toBe('ready')
    peers = [peer(peerB, 'ready')]
    expect(engine.info().availability).toBe('ready')
    expect(engine.info().contextSize).toBeGreaterThan(0)
  })

  test('says who answers, once per executor, with the model its presence names; lastExecutor is the last', async () => {
    const events: TaskEvent[] = [
      { type: 'text', text: 'Hel', epoch: 1, executor: peerB },
      { type: 'text', text: 'lo', epoch: 1, executor: peerB },
      { type: 'restart', epoch: 2, executor: peerC, reason: 'lease lapsed' },
      { type: 'text', text: 'Hello', epoch: 2, executor: peerC },
    ]
    const engine = new PeerEngine(market(events, { text: 'Hello', finish: 'stop', executor: peerC, epoch: 2, usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }), () => [
      peer(peerB, 'ready', 'model-b'),
      peer(peerC, 'ready', 'model-c'),
    ])
    const told: Answerer[] = []
    const text = await textOf(engine.chat(request, undefined, (answerer) => told.push(answerer)))
    expect(text).toContain('Hello')
    expect(told).toEqual([
      { nodeId: peerB, modelId: 'model-b' },
      { nodeId: peerC, modelId: 'model-c' },
    ])
    expect(engine.lastExecutor).toBe(peerC)
  })

  test('through the router: the swarm route names the peer and its model', async () => {
    const engine = new PeerEngine(market([{ type: 'text', text: 'hi there', epoch: 1, executor: peerB }], { text: 'hi there', finish: 'stop', executor: peerB, epoch: 1 }), () => [
      peer(peerB, 'ready', 'model-b'),
    ])
    const answer = await new ChatRouter({ nodeId: 'a'.repeat(64), engines: { swarm: engine }, decide: () => Promise.resolve({ route: 'swarm', confidence: 1 }) }).route(request, 'swarm')
    expect(await textOf(answer.chunks)).toBe('hi there')
    expect({ nodeId: answer.answeredBy(), model: answer.model(), engine: answer.engine() }).toEqual({ nodeId: peerB, model: 'model-b', engine: 'peer' })
  })

  test('a stop cancels the task; after unload, a chat fails with a named error and the engine is unavailable', async () => {
    const fake = market([{ type: 'text', text: 'a', epoch: 1, executor: peerB }], { text: 'a', finish: 'stop', executor: peerB, epoch: 1 })
    const engine = new PeerEngine(fake, () => [peer(peerB, 'ready')])
    const controller = new AbortController()
    for await (const _chunk of engine.chat(request, controller.signal)) controller.abort()
    expect(fake.cancelled()).toBeGreaterThan(0)
    await engine.unload()
    expect(engine.info()).toMatchObject({ availability: 'unavailable', reason: 'the peer engine is unloaded' })
    await expect(textOf(engine.chat(request))).rejects.toThrow(InferenceError)
  })
})

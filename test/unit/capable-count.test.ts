// The executor places itself in a task's waves by how many live peers could bid on it, counted
// once per list of peers and kind of task (src/market/capable-count.ts) instead of once per task.
// The count must be what counting the list would give, with the node as it is now.
import { describe, expect, it } from 'vitest'
import { bidsOn, CapableCount } from '../../src/market/capable-count'
import { capabilityKeyOf, capableOf } from '../../src/market/estimate'
import type { Spec } from '../../src/market/schema'
import type { LivePeer } from '../../src/market/types'
import type { ChatRequest } from '../../src/inference/types'
import { mulberry32 } from '../../src/shared/hash'

const ask: ChatRequest = { messages: [{ role: 'user', content: 'hello' }] }
const tool = { type: 'function', function: { name: 'lookup' } } as const

function specOf(taskId: string, request: ChatRequest, requirements: Spec['requirements'] = {}): Spec {
  return { v: 3, taskId, request, requirements, poster: 'poster', publicKey: 'key', createdAt: 0, expiresAt: 1, sig: 'sig' }
}

/** Tasks of every kind the key tells apart, two of each with different requests otherwise. */
const specs: Spec[] = [
  [ask, {}],
  [{ ...ask, temperature: 0.3, max_tokens: 9 }, {}],
  [{ ...ask, tools: [tool] }, {}],
  [{ messages: [...ask.messages, { role: 'assistant', content: '', tool_calls: [{ id: 'c', type: 'function', function: { name: 'lookup', arguments: '{}' } }] }] }, {}],
  [{ ...ask, response_format: { type: 'json_object' } }, {}],
  [{ ...ask, response_format: { type: 'text' } }, {}],
  [ask, { model: 'qwen3' }],
  [
    { ...ask, seed: 4 },
    { model: 'qwen3', contextSize: 100 },
  ],
  [ask, { engineKinds: ['webgpu'] }],
  [ask, { engineKinds: ['webgpu', 'wasm'], deadlineMs: 10 }],
  [ask, { kind: 'embed', model: 'minilm' }],
  [{ messages: [{ role: 'user', content: 'other text' }] }, { kind: 'embed', model: 'minilm' }],
  [ask, { kind: 'embed', model: 'other' }],
].map(([request, requirements], i) => specOf(`t${i}`, request as ChatRequest, requirements as Spec['requirements']))

function peersOf(random: () => number, count: number): LivePeer[] {
  const pick = <T>(options: readonly T[]): T => options[Math.floor(random() * options.length)] as T
  return Array.from({ length: count }, (_, i) => ({
    nodeId: `n${i}`,
    engine:
      random() < 0.15
        ? null
        : {
            kind: pick(['webgpu', 'wasm', 'none'] as const),
            modelId: pick(['qwen3', 'other']),
            state: pick(['ready', 'busy', 'loading', 'failed'] as const),
            prefillTokensPerS: 100,
            decodeTokensPerS: 10,
            ...(random() < 0.7 ? { supports: { tools: random() < 0.5, jsonSchema: random() < 0.5 } } : {}),
          },
    queueLength: 0,
    visible: true,
    linkDelayMs: 10,
    ...(random() < 0.2 ? { serve: pick(['off', 'always', 'idle'] as const) } : {}),
    ...(random() < 0.3 ? { embedder: { modelId: pick(['minilm', 'other']), dimensions: 4 } } : {}),
  }))
}

/** What the count stands for: the list's peers that would bid, this node as it is now. */
function counted(peers: readonly LivePeer[], spec: Spec, self: LivePeer): number {
  return peers.filter((peer) => bidsOn(peer.nodeId === self.nodeId ? self : peer, spec)).length
}

describe('counting the peers that could bid', () => {
  it('tasks with the same capability key are open to the same peers, and the key tells the kinds apart', () => {
    const peers = peersOf(mulberry32(3), 400)
    const keys = specs.map(capabilityKeyOf)
    expect(new Set(keys).size).toBe(8)
    for (const [i, a] of specs.entries())
      for (const [j, b] of specs.entries()) {
        if (keys[i] !== keys[j]) continue
        for (const peer of peers) expect(capableOf(peer, a)).toBe(capableOf(peer, b))
      }
  })

  it('counts what the list holds, this node as it is now, across lists and kinds of task', () => {
    const random = mulberry32(11)
    const counter = new CapableCount('n0')
    for (let round = 0; round < 30; round++) {
      const peers = peersOf(random, 1 + Math.floor(random() * 60))
      // Some lists leave this node out (the market adds it; another caller may not).
      const list = round % 3 === 0 ? peers.slice(1) : peers
      for (let read = 0; read < 3; read++)
        for (const spec of specs) {
          // This node changes between reads of the same list, as the market's own entry does.
          const self = peersOf(random, 1)[0] as LivePeer
          if (list[0]?.nodeId === 'n0') list[0] = self
          expect(counter.count(list, spec, self)).toBe(counted(list, spec, self))
        }
    }
  })

  it('counts a new list anew, and stays right past the kinds of task it keeps', () => {
    const random = mulberry32(5)
    const counter = new CapableCount('n0')
    const peers = peersOf(random, 50)
    const self = peers[0] as LivePeer
    const spec = specs[0] as Spec
    expect(counter.count(peers, spec, self)).toBe(counted(peers, spec, self))
    const changed = peers.map((peer) => (peer.nodeId === 'n1' || peer.nodeId === 'n2' ? { ...peer, engine: null } : peer))
    expect(counter.count(changed, spec, self)).toBe(counted(changed, spec, self))
    // A poster may name as many models as it likes: each one a kind of task.
    for (let i = 0; i < 200; i++) {
      const named = specOf(`m${i}`, ask, { model: i % 2 === 0 ? 'qwen3' : `model-${i}` })
      expect(counter.count(changed, named, self)).toBe(counted(changed, named, self))
    }
  })
})

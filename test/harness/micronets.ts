// Micro-nets in a real browser for test/e2e/micronets.spec.ts: onnxruntime-web in the worker
// pool, built exactly as the app builds it. Imported by the harness page (test/harness/main.ts).
import { createMlp, forwardBatch, type Activation, type Mlp } from '../../src/micronets/mlp'
import { exportOnnx } from '../../src/micronets/onnx/export'
import { initialRouterNet, MicronetRouter, type Route } from '../../src/micronets/router'
import { createMicronetPool, pooledScorer } from '../../src/micronets/runtime/browser'
import type { WorkerStats } from '../../src/micronets/runtime/protocol'
import { mulberry32 } from '../../src/shared/hash'
import { benchMemory, benchOrtRun, benchRouting, wasmSimdSupported } from './micronets-bench'

export interface MicronetHarness {
  /** Random nets (and the router) through the pool vs the TypeScript forward pass. */
  roundTrip(threads?: number): Promise<{ maxAbsDiff: number; values: number; threads: number; crossOriginIsolated: boolean }>
  /** `count` router decisions in a row through one worker; the page's memory (workers included) before and after. */
  decisions(count: number): Promise<{ routes: Record<Route, number>; before: WorkerStats; after: WorkerStats; memoryBefore: number | null; memoryAfter: number | null }>
  /** `nets` nets through a pool capped at `maxSessions`, then all disposed, `cycles` times. */
  disposal(nets: number, maxSessions: number, cycles: number): Promise<{ peakSessions: number; afterDispose: WorkerStats; memoryAfterFirstCycle: number | null; memoryAfterLastCycle: number | null }>
  /** For test/bench/micronets.ts (see ./micronets-bench.ts): raw samples, no checks. */
  benchRouting: typeof benchRouting
  benchOrtRun: typeof benchOrtRun
  benchMemory: typeof benchMemory
  wasmSimdSupported: typeof wasmSimdSupported
}

declare global {
  var micronets: MicronetHarness
}

const prompts = [
  'hi',
  'What is the capital of Peru?',
  'Prove that there are infinitely many primes.',
  'Write a Rust function that sums a list.',
  'Design a rate limiter for a distributed API. Analyze the trade-offs in detail and justify each choice.',
  `Summarize the following text in two sentences:\n\n${'The train was late, and most passengers missed their connection. '.repeat(30)}`,
  '请解释一下什么是缓存。',
]

interface MemoryMeasuring {
  measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>
}

/** The page's memory with its workers (Chromium, cross-origin isolated only); null elsewhere. */
async function pageMemoryBytes(): Promise<number | null> {
  const measuring = performance as Performance & MemoryMeasuring
  if (!measuring.measureUserAgentSpecificMemory || !globalThis.crossOriginIsolated) return null
  return (await measuring.measureUserAgentSpecificMemory()).bytes
}

function randomNet(seed: number): Mlp {
  const random = mulberry32(seed)
  const activations: Activation[] = ['relu', 'tanh', 'sigmoid', 'linear']
  const pick = (): Activation => activations[Math.floor(random() * activations.length)] ?? 'relu'
  const inputs = 1 + Math.floor(random() * 20)
  const depth = 1 + Math.floor(random() * 3)
  const net = createMlp(
    { inputs, layers: Array.from({ length: depth }, (_, layer) => ({ units: 1 + Math.floor(random() * 24), activation: layer === depth - 1 && seed % 2 === 0 ? 'sigmoid' : pick() })) },
    seed,
  )
  for (const layer of net.layers) layer.bias.forEach((_, index) => (layer.bias[index] = random() - 0.5))
  return net
}

globalThis.micronets = {
  roundTrip: async (threads) => {
    const pool = createMicronetPool({ workers: 2, ...(threads !== undefined ? { settings: { threads } } : {}) })
    try {
      let maxAbsDiff = 0
      let values = 0
      const nets = [initialRouterNet(), ...Array.from({ length: 12 }, (_, index) => randomNet(index + 1))]
      for (const [index, net] of nets.entries()) {
        const rows = 16
        const random = mulberry32(100 + index)
        const input = Float32Array.from({ length: rows * net.inputs }, () => random() * 4 - 2)
        pool.register(`net-${index}`, exportOnnx(net))
        const actual = await pool.run(`net-${index}`, input, rows)
        const expected = forwardBatch(net, input, rows)
        if (actual.length !== expected.length) throw new Error(`net ${index}: ${actual.length} outputs, expected ${expected.length}`)
        expected.forEach((value, at) => (maxAbsDiff = Math.max(maxAbsDiff, Math.abs(value - (actual[at] ?? Number.NaN)))))
        values += expected.length
      }
      const [stats] = await pool.stats()
      return { maxAbsDiff, values, threads: stats?.threads ?? 0, crossOriginIsolated: globalThis.crossOriginIsolated }
    } finally {
      pool.close()
    }
  },

  decisions: async (count) => {
    const pool = createMicronetPool({ workers: 1 })
    try {
      const router = new MicronetRouter(pooledScorer(pool, 'router', initialRouterNet()))
      const routes: Record<Route, number> = { local: 0, swarm: 0, relay: 0 }
      const decide = async (index: number): Promise<void> => {
        const decision = await router.decide({ messages: [{ role: 'user', content: prompts[index % prompts.length] ?? '' }] })
        routes[decision.route]++
      }
      for (let index = 0; index < 100; index++) await decide(index)
      const memoryBefore = await pageMemoryBytes()
      const before = (await pool.stats())[0]
      for (let index = 0; index < count; index++) await decide(index)
      const after = (await pool.stats())[0]
      const memoryAfter = await pageMemoryBytes()
      if (!before || !after) throw new Error('no worker stats')
      return { routes, before, after, memoryBefore, memoryAfter }
    } finally {
      pool.close()
    }
  },

  disposal: async (nets, maxSessions, cycles) => {
    const pool = createMicronetPool({ workers: 1, maxSessions })
    try {
      let peakSessions = 0
      let memoryAfterFirstCycle: number | null = null
      for (let cycle = 0; cycle < cycles; cycle++) {
        for (let index = 0; index < nets; index++) {
          const net = randomNet(index + 1)
          pool.register(`net-${index}`, exportOnnx(net))
          await pool.run(`net-${index}`, new Float32Array(net.inputs), 1)
          const [stats] = await pool.stats()
          peakSessions = Math.max(peakSessions, stats?.sessions.length ?? 0)
        }
        for (let index = 0; index < nets; index++) await pool.dispose(`net-${index}`)
        if (cycle === 0) memoryAfterFirstCycle = await pageMemoryBytes()
      }
      const [afterDispose] = await pool.stats()
      if (!afterDispose) throw new Error('no worker stats')
      return { peakSessions, afterDispose, memoryAfterFirstCycle, memoryAfterLastCycle: await pageMemoryBytes() }
    } finally {
      pool.close()
    }
  },

  benchRouting,
  benchOrtRun,
  benchMemory,
  wasmSimdSupported,
}

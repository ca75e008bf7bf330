// The page half of the micronets bench (test/bench/micronets.ts): router decisions through the
// worker pool beside the same net in TypeScript, ort's session.run alone in a worker, and the
// page's memory with its workers. Returns raw samples; the bench computes and prints the figures.
import type { ChatRequest } from '../../src/inference/types'
import { routerFeatures } from '../../src/micronets/features'
import { exportOnnx } from '../../src/micronets/onnx/export'
import { initialRouterNet, inlineScorer, MicronetRouter, type Route } from '../../src/micronets/router'
import { createMicronetPool, pooledScorer } from '../../src/micronets/runtime/browser'
import type { RuntimeSettings } from '../../src/micronets/runtime/protocol'
import type { OrtTimingReply, OrtTimingRequest } from './ort-timing.worker'

type BenchRequest = Pick<ChatRequest, 'messages' | 'max_tokens' | 'enable_thinking'>

const user = (content: string): BenchRequest['messages'][number] => ({ role: 'user', content })

/** A mix of short and long, simple and hard, one- and many-turn requests, cycled through in order. */
const benchRequests: BenchRequest[] = [
  { messages: [user('hi')] },
  { messages: [user('What is the capital of Peru?')] },
  { messages: [user('Prove that there are infinitely many primes.')], enable_thinking: true },
  { messages: [user('Write a Rust function that sums a list.')], max_tokens: 512 },
  { messages: [user('Design a rate limiter for a distributed API. Analyze the trade-offs in detail and justify each choice.')], max_tokens: 4096 },
  { messages: [user(`Summarize the following text in two sentences:\n\n${'The train was late, and most passengers missed their connection. '.repeat(30)}`)] },
  { messages: [user('请解释一下什么是缓存。')] },
  { messages: [user('Translate "good morning, how are you?" into French and German.')] },
  { messages: [user('Solve the equation x^2 - 5x + 6 = 0 and check both roots.')] },
  {
    messages: [
      { role: 'system', content: 'You are a careful assistant.' },
      user('I have a list of numbers.'),
      { role: 'assistant', content: 'Sure, what would you like to do with it?' },
      user('Sort it in place without using the standard library, in at most 20 lines:\n```ts\nconst xs = [5, 3, 9, 1]\n```'),
    ],
    max_tokens: 1024,
  },
  { messages: [user('List five synonyms for "happy".\n1. glad\n2. ')] },
  { messages: [user(`Review this code and explain why it leaks memory:\n\`\`\`js\n${'function f() { const big = new Array(1e6); return () => big.length; }\n'.repeat(20)}\`\`\``)], max_tokens: 2048 },
]

const firstDecisionTimeoutMs = 60_000
const memoryMeasureTimeoutMs = 60_000

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface RoutingBenchOptions {
  decisions: number
  warmup: number
  settings: RuntimeSettings
}

export interface RoutingBench {
  /** Threads per session, as the worker reports it after init. */
  threads: number
  crossOriginIsolated: boolean
  /** Pool created → first decision back: worker start, ort's wasm loaded, the session created. */
  firstDecisionMs: number
  /** `router.decide` through the pool: features, postMessage both ways, ort's run. */
  pooledDecideMs: number[]
  /** `pool.run` on features computed beforehand: postMessage both ways and ort's run. */
  poolRunMs: number[]
  /** `router.decide` with `inlineScorer`: the same net in TypeScript on this thread. */
  inlineDecideMs: number[]
  /** `routerFeatures` alone, on this thread. */
  featuresMs: number[]
  /** Decisions where the pooled and the inline router chose the same route. */
  sameRoute: number
  routes: Record<Route, number>
}

/** `decisions` router decisions, pooled and inline in turn on each request of the mix, after `warmup` of each. */
export async function benchRouting({ decisions, warmup, settings }: RoutingBenchOptions): Promise<RoutingBench> {
  const net = initialRouterNet()
  const inline = new MicronetRouter(inlineScorer(net))
  const startedMs = performance.now()
  const pool = createMicronetPool({ workers: 1, settings })
  try {
    const pooled = new MicronetRouter(pooledScorer(pool, 'router', net))
    await withTimeout(pooled.decide(benchRequests[0] ?? { messages: [user('hi')] }), firstDecisionTimeoutMs, 'first pooled decision')
    const firstDecisionMs = performance.now() - startedMs
    const result: RoutingBench = {
      threads: (await pool.stats())[0]?.threads ?? 0,
      crossOriginIsolated: globalThis.crossOriginIsolated,
      firstDecisionMs,
      pooledDecideMs: [],
      poolRunMs: [],
      inlineDecideMs: [],
      featuresMs: [],
      sameRoute: 0,
      routes: { local: 0, swarm: 0, relay: 0 },
    }
    for (let index = 0; index < warmup + decisions; index++) {
      const request = benchRequests[index % benchRequests.length] ?? { messages: [user('hi')] }
      const t0 = performance.now()
      const fromPool = await pooled.decide(request)
      const t1 = performance.now()
      const fromInline = await inline.decide(request)
      const t2 = performance.now()
      const features = routerFeatures(request)
      const t3 = performance.now()
      await pool.run('router', features, 1)
      const t4 = performance.now()
      if (index < warmup) continue
      result.pooledDecideMs.push(t1 - t0)
      result.inlineDecideMs.push(t2 - t1)
      result.featuresMs.push(t3 - t2)
      result.poolRunMs.push(t4 - t3)
      result.routes[fromPool.route]++
      if (fromPool.route === fromInline.route) result.sameRoute++
    }
    return result
  } finally {
    pool.close()
  }
}

export interface OrtRunBenchOptions {
  runs: number
  warmup: number
  settings: RuntimeSettings
}

/** ort's session.run alone, timed inside a worker of its own, on the router net and the mix's features. */
export async function benchOrtRun({ runs, warmup, settings }: OrtRunBenchOptions): Promise<{ createMs: number; runMs: number[]; threads: number }> {
  const worker = new Worker(new URL('./ort-timing.worker.ts', import.meta.url), { type: 'module', name: 'edgeswarm-bench-ort-timing' })
  try {
    const request: OrtTimingRequest = { settings, model: exportOnnx(initialRouterNet()), inputs: benchRequests.map(routerFeatures), warmup, runs }
    const reply = await withTimeout(
      new Promise<OrtTimingReply>((resolve, reject) => {
        worker.addEventListener('message', (event: MessageEvent<OrtTimingReply>) => resolve(event.data))
        worker.addEventListener('error', (event) => reject(new Error(`ort timing worker failed: ${event.message || 'could not start'}`)))
        worker.postMessage(request)
      }),
      firstDecisionTimeoutMs,
      'ort timing worker',
    )
    if (!reply.ok) throw new Error(reply.error)
    return { createMs: reply.createMs, runMs: reply.runMs, threads: reply.threads }
  } finally {
    worker.terminate()
  }
}

export interface PageMemory {
  /** performance.measureUserAgentSpecificMemory(): the page with its workers, wasm memory included. */
  totalBytes: number
  /** Of it, what is attributed to dedicated workers. */
  workerBytes: number
}

interface Measurement {
  bytes: number
  breakdown: { bytes: number; attribution: { scope?: string }[] }[]
}

/** The page's memory with its workers (Chromium, cross-origin isolated only); null elsewhere or on timeout. */
async function measureMemory(): Promise<PageMemory | null> {
  const measuring = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<Measurement> }
  if (!measuring.measureUserAgentSpecificMemory || !globalThis.crossOriginIsolated) return null
  const result = await withTimeout(measuring.measureUserAgentSpecificMemory(), memoryMeasureTimeoutMs, 'measureUserAgentSpecificMemory').catch(() => null)
  if (!result) return null
  const workerBytes = result.breakdown.filter((entry) => entry.attribution.some((by) => by.scope === 'DedicatedWorkerGlobalScope')).reduce((sum, entry) => sum + entry.bytes, 0)
  return { totalBytes: result.bytes, workerBytes }
}

export interface MemoryBench {
  /** The page before any pool. */
  noPool: PageMemory | null
  /** One worker, the router's session warm after 100 decisions. */
  warm: PageMemory | null
  afterDecisions: PageMemory | null
  /** With `sessions` more warm sessions of the router's shape in the same worker. */
  withSessions: PageMemory | null
  /** Those sessions disposed again. */
  afterDispose: PageMemory | null
  liveSessions: number
}

/** The page's memory around `decisions` pooled decisions, then with `sessions` more warm sessions. */
export async function benchMemory({ decisions, sessions }: { decisions: number; sessions: number }): Promise<MemoryBench> {
  const noPool = await measureMemory()
  const net = initialRouterNet()
  const pool = createMicronetPool({ workers: 1, maxSessions: sessions + 1 })
  try {
    const router = new MicronetRouter(pooledScorer(pool, 'router', net))
    const decide = (index: number): Promise<unknown> => router.decide(benchRequests[index % benchRequests.length] ?? { messages: [user('hi')] })
    for (let index = 0; index < 100; index++) await decide(index)
    const warm = await measureMemory()
    for (let index = 0; index < decisions; index++) await decide(index)
    const afterDecisions = await measureMemory()
    const model = exportOnnx(net)
    const features = routerFeatures(benchRequests[0] ?? { messages: [user('hi')] })
    for (let index = 0; index < sessions; index++) {
      pool.register(`extra-${index}`, model)
      await pool.run(`extra-${index}`, features, 1)
    }
    const liveSessions = (await pool.stats())[0]?.sessions.length ?? 0
    const withSessions = await measureMemory()
    for (let index = 0; index < sessions; index++) await pool.dispose(`extra-${index}`)
    const afterDispose = await measureMemory()
    return { noPool, warm, afterDecisions, withSessions, afterDispose, liveSessions }
  } finally {
    pool.close()
  }
}

/** Whether this browser validates a module with one SIMD instruction (ort 1.30's wasm needs it). */
export function wasmSimdSupported(): boolean {
  // (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)
  return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]))
}

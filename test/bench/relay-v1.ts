// The figures of the relay's /v1 (issue 5): what a relay hop adds to the time to first token,
// how many short requests the embedded backend answers per second, and what a /v1 connection
// costs the relay process in memory, idle and streaming. Every relay is its own process.
import { mkdirSync } from 'node:fs'
import { Agent, createServer, get, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { ensureFixture } from '../../scripts/gguf/fixture-file'
import { tinyQwen3 } from '../../scripts/gguf/specs'
import { readSseData, sseEvent } from '../../src/shared/sse'
import { chunkBuilder } from '../../src/shared/openai'
import { startRelay, type RelayProcess } from './relay-process'
import { benchSignalFlood } from './relay-signal'
import { benchUpstreams } from './relay-upstreams'
import { fmt, median, percentile, table } from './stats'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))
const tinyModelId = 'tiny-qwen3'
const slowModelId = 'slow-upstream'
// No rate or budget limit gets in the way of a benchmark.
const unlimited = { RELAY_RATE_PER_MIN: '1000000', RELAY_DAILY_TOKENS: '0' }

const ttftWarmups = 3
const ttftRuns = 30
const ttftMaxTokens = 16
const throughputWindowMs = 10_000
const throughputMaxRequests = 200
const idleConnectionCount = 1000
const streamCount = 200
const slowChunkIntervalMs = 200
const slowStreamMaxTokens = 4000
const settleMs = 1_000
const streamingMeasureAfterMs = 2_000
const streamsFlowingTimeoutMs = 30_000

const systemPrompt = 'You are terse.'
const userPrompt = 'Say hello to the world.'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function chatBody(model: string, options: { stream: boolean; maxTokens: number; userText?: string }): string {
  const messages = [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: options.userText ?? userPrompt },
  ]
  return JSON.stringify({ model, messages, stream: options.stream, max_tokens: options.maxTokens, temperature: 0 })
}

function postChat(relay: RelayProcess, body: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${relay.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, ...(signal ? { signal } : {}) })
}

/** Whether an SSE payload is a chunk that carries text (the role chunk before it does not). */
function carriesText(data: string): boolean {
  if (data === '[DONE]') return false
  const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[] }
  return (chunk.choices?.[0]?.delta?.content ?? '') !== ''
}

/** Milliseconds from the call to the first chunk with text; reads the stream to its end. */
async function timeToFirstTokenMs(relay: RelayProcess, body: string): Promise<number> {
  const startedMs = performance.now()
  const response = await postChat(relay, body)
  if (!response.ok || response.body === null) throw new Error(`${relay.url}: HTTP ${response.status} ${await response.text()}`)
  let firstMs = Number.NaN
  for await (const data of readSseData(response.body)) {
    if (Number.isNaN(firstMs) && carriesText(data)) firstMs = performance.now() - startedMs
  }
  if (Number.isNaN(firstMs)) throw new Error(`${relay.url}: the stream carried no text`)
  return firstMs
}

interface Throughput {
  completed: number
  failed: number
  seconds: number
  latenciesMs: number[]
}

/** Short non-streaming requests from `concurrency` callers, for the window or the request cap. */
async function requestsPerSecond(relay: RelayProcess, concurrency: number): Promise<Throughput> {
  const latenciesMs: number[] = []
  let started = 0
  let failed = 0
  const startedMs = performance.now()
  const deadlineMs = startedMs + throughputWindowMs
  const caller = async (): Promise<void> => {
    while (started < throughputMaxRequests && performance.now() < deadlineMs) {
      // A different question each time, as callers send; the template before it stays cached.
      const body = chatBody(tinyModelId, { stream: false, maxTokens: 1, userText: `${started++}. ${userPrompt}` })
      const sentMs = performance.now()
      const response = await postChat(relay, body)
      await response.arrayBuffer()
      if (response.ok) latenciesMs.push(performance.now() - sentMs)
      else failed += 1
    }
  }
  await Promise.all(Array.from({ length: concurrency }, caller))
  return { completed: latenciesMs.length, failed, seconds: (performance.now() - startedMs) / 1000, latenciesMs }
}

interface SlowUpstream {
  /** Base URL of its OpenAI API, `…/v1`. */
  url: string
  close(): Promise<void>
}

/**
 * An OpenAI-compatible server that streams one short chunk every `slowChunkIntervalMs` until
 * max_tokens: streams stay open for long at almost no cost of its own, so the relay in front
 * of it shows its own cost per stream.
 */
async function startSlowUpstream(): Promise<SlowUpstream> {
  const sockets = new Set<Socket>()
  const stream = (body: string, res: ServerResponse): void => {
    const request = JSON.parse(body) as { max_tokens?: number }
    const maxTokens = request.max_tokens ?? 16
    const chunks = chunkBuilder(slowModelId)
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' })
    res.write(sseEvent(JSON.stringify(chunks.role())))
    let sent = 0
    const timer = setInterval(() => {
      sent += 1
      res.write(sseEvent(JSON.stringify(chunks.content(' tok'))))
      if (sent < maxTokens) return
      clearInterval(timer)
      res.write(sseEvent(JSON.stringify(chunks.finish('length'))))
      res.write(sseEvent(JSON.stringify(chunks.usage({ prompt_tokens: 8, completion_tokens: sent, total_tokens: 8 + sent }))))
      res.end(sseEvent('[DONE]'))
    }, slowChunkIntervalMs)
    // Not req's close: that fires once the request body is read, the stream still open.
    res.once('close', () => clearInterval(timer))
  }
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ object: 'list', data: [{ id: slowModelId, object: 'model', created: 0, owned_by: 'bench' }] }))
      return
    }
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (text: string) => (body += text))
    req.on('end', () => {
      try {
        stream(body, res)
      } catch (error) {
        res.writeHead(400).end(String(error))
      }
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}

/** Runs `body` with one relay per env, stopping every one that started, whatever happens. */
async function withRelays<T>(envs: Record<string, string>[], body: (relays: RelayProcess[]) => Promise<T>): Promise<T> {
  const relays: RelayProcess[] = []
  try {
    for (const env of envs) relays.push(await startRelay({ ...unlimited, ...env }))
    return await body(relays)
  } finally {
    await Promise.all(relays.map((relay) => relay.stop()))
  }
}

function embeddedEnv(modelPath: string, concurrency: number): Record<string, string> {
  return { RELAY_MODEL_PATH: modelPath, RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', RELAY_MODEL_CONCURRENCY: String(concurrency), RELAY_MODEL_CONTEXT: '2048' }
}

async function relayOverhead(modelPath: string): Promise<void> {
  await withRelays([embeddedEnv(modelPath, 1)], async ([direct]) => {
    if (!direct) return
    await withRelays([{ RELAY_UPSTREAM_URL: `${direct.url}/v1`, RELAY_UPSTREAM_TIMEOUT_MS: '20000' }], async ([relayed]) => {
      if (!relayed) return
      const body = chatBody(tinyModelId, { stream: true, maxTokens: ttftMaxTokens })
      for (let i = 0; i < ttftWarmups; i++) {
        await timeToFirstTokenMs(direct, body)
        await timeToFirstTokenMs(relayed, body)
      }
      const directMs: number[] = []
      const relayedMs: number[] = []
      // Alternating, and swapping which goes first, so drift and order fall on both sides alike.
      for (let i = 0; i < ttftRuns; i++) {
        const order = i % 2 === 0 ? [direct, relayed] : [relayed, direct]
        for (const relay of order) (relay === direct ? directMs : relayedMs).push(await timeToFirstTokenMs(relay, body))
      }
      const ratio = median(relayedMs) / median(directMs)
      table(
        `/v1 relay overhead: time to first token (tiny-qwen3, 1 thread, stream, max_tokens ${ttftMaxTokens}, ${ttftRuns} runs each, alternated)`,
        ['path', 'p50 ms', 'p95 ms', 'p50 ÷ direct'],
        [
          ['direct: client → B (embedded)', fmt(median(directMs), 2), fmt(percentile(directMs, 95), 2), '1.00'],
          ['relayed: client → A (upstream) → B', fmt(median(relayedMs), 2), fmt(percentile(relayedMs, 95), 2), fmt(ratio, 3)],
          ['relay hop, p50 difference', fmt(median(relayedMs) - median(directMs), 2), '', ''],
        ],
      )
    })
  })
}

async function embeddedThroughput(modelPath: string): Promise<void> {
  const runs: [label: string, modelConcurrency: number, callers: number][] = [
    ['RELAY_MODEL_CONCURRENCY=1, 1 caller', 1, 1],
    ['RELAY_MODEL_CONCURRENCY=1, 4 callers', 1, 4],
    ['RELAY_MODEL_CONCURRENCY=2, 4 callers', 2, 4],
  ]
  const rows: string[][] = []
  for (const modelConcurrency of [1, 2]) {
    await withRelays([embeddedEnv(modelPath, modelConcurrency)], async ([relay]) => {
      if (!relay) return
      for (let i = 0; i < 2; i++) await (await postChat(relay, chatBody(tinyModelId, { stream: false, maxTokens: 1 }))).arrayBuffer()
      for (const [label, concurrency, callers] of runs) {
        if (concurrency !== modelConcurrency) continue
        const result = await requestsPerSecond(relay, callers)
        rows.push([label, fmt(result.completed / result.seconds), fmt(median(result.latenciesMs), 2), fmt(percentile(result.latenciesMs, 95), 2), String(result.completed), String(result.failed)])
      }
    })
  }
  table(
    `/v1 embedded backend: short requests per second (tiny-qwen3, 1 thread, non-streaming, max_tokens 1, ${throughputWindowMs / 1000} s or ${throughputMaxRequests} requests)`,
    ['setup', 'req/s', 'p50 ms', 'p95 ms', 'done', 'failed'],
    rows,
  )
}

/** One GET /v1/models on `agent`'s connection, read to its end. */
function getModels(relay: RelayProcess, agent: Agent, onSocket?: (socket: Socket) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = get(`${relay.url}/v1/models`, { agent }, (res) => {
      res.resume()
      res.once('end', resolve)
      res.once('error', reject)
    })
    if (onSocket) req.once('socket', onSocket)
    req.once('error', reject)
  })
}

/** Opens `count` keep-alive connections, one request each, left idle; returns them and their closes. */
async function openIdleConnections(relay: RelayProcess, count: number): Promise<{ agents: Agent[]; closedCount: () => number }> {
  const agents: Agent[] = []
  let closed = 0
  const countClose = (socket: Socket): void => {
    socket.once('close', () => (closed += 1))
  }
  for (let i = 0; i < count; i++) {
    // One agent per connection: each keeps its own socket open after the answer.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    agents.push(agent)
    await getModels(relay, agent, countClose)
  }
  return { agents, closedCount: () => closed }
}

/** The same `count` requests on one keep-alive connection: the work without the connections. */
async function requestsOnOneConnection(relay: RelayProcess, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (let i = 0; i < count; i++) await getModels(relay, agent)
  } finally {
    agent.destroy()
  }
}

interface StreamingClients {
  /** Resolves when every stream has brought its first text. */
  flowing: Promise<void>
  chunksReceived: () => number
  stop(): Promise<void>
}

function openStreams(relay: RelayProcess, count: number): StreamingClients {
  const controller = new AbortController()
  let chunks = 0
  const body = chatBody(slowModelId, { stream: true, maxTokens: slowStreamMaxTokens })
  const firstText: Promise<void>[] = []
  const reading: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    let markFlowing: () => void = () => undefined
    firstText.push(new Promise<void>((resolve) => (markFlowing = resolve)))
    const read = async (): Promise<void> => {
      const response = await postChat(relay, body, controller.signal)
      if (!response.ok || response.body === null) throw new Error(`stream ${i}: HTTP ${response.status}`)
      for await (const data of readSseData(response.body)) {
        if (!carriesText(data)) continue
        chunks += 1
        markFlowing()
      }
    }
    reading.push(
      read().catch((error: unknown) => {
        if (!controller.signal.aborted) throw error
      }),
    )
  }
  // A stream that fails before its first text fails `flowing` too.
  const failed = Promise.all(reading).then(() => Promise.reject(new Error('a stream ended before it was measured')))
  failed.catch(() => undefined)
  const stalled = sleep(streamsFlowingTimeoutMs).then(() => Promise.reject(new Error(`streams brought no text within ${streamsFlowingTimeoutMs} ms`)))
  stalled.catch(() => undefined)
  return {
    flowing: Promise.race([Promise.all(firstText).then(() => undefined), failed, stalled]),
    chunksReceived: () => chunks,
    async stop() {
      controller.abort()
      await Promise.allSettled(reading)
    },
  }
}

async function relayMemory(): Promise<void> {
  const upstream = await startSlowUpstream()
  try {
    const upstreamEnv = { RELAY_UPSTREAM_URL: upstream.url }
    const idle = await withRelays([upstreamEnv], async ([relay]) => {
      if (!relay) throw new Error('no relay')
      // The heap grows with the requests themselves; it has grown already when the baseline is read.
      await requestsOnOneConnection(relay, idleConnectionCount)
      await sleep(settleMs)
      const baseline = relay.rssBytes()
      const openedMs = performance.now()
      const { agents, closedCount } = await openIdleConnections(relay, idleConnectionCount)
      try {
        await sleep(500)
        const loaded = relay.rssBytes()
        const open = idleConnectionCount - closedCount()
        return { baseline, loaded, open, oldestIdleS: (performance.now() - openedMs) / 1000 }
      } finally {
        for (const agent of agents) agent.destroy()
      }
    })
    const streaming = await withRelays([upstreamEnv], async ([relay]) => {
      if (!relay) throw new Error('no relay')
      // A first round of the same streams, so that the baseline holds the heap they grow.
      const warm = openStreams(relay, streamCount)
      try {
        await warm.flowing
        await sleep(streamingMeasureAfterMs)
      } finally {
        await warm.stop()
      }
      await sleep(settleMs)
      const baseline = relay.rssBytes()
      const clients = openStreams(relay, streamCount)
      try {
        await clients.flowing
        await sleep(streamingMeasureAfterMs)
        const samples = [relay.rssBytes()]
        for (let i = 0; i < 2; i++) {
          await sleep(250)
          samples.push(relay.rssBytes())
        }
        return { baseline, loaded: median(samples), chunks: clients.chunksReceived() }
      } finally {
        await clients.stop()
      }
    })
    const mib = (bytes: number): string => `${fmt(bytes / 2 ** 20)} MiB`
    const kib = (bytes: number): string => `${fmt(bytes / 1024, 2)} KiB`
    // Each baseline is read after a warm-up round of the same work, so the heap that work grows
    // is in it and the difference is what the open connections hold.
    table(
      '/v1 relay memory (relay process RSS from /proc; upstream backend in front of a slow SSE server in the bench, so only the relay is measured)',
      ['figure', 'per connection', 'RSS before', 'RSS with them'],
      [
        [
          `idle keep-alive connections: ${idle.open} of ${idleConnectionCount} open after one GET /v1/models each (oldest idle ${fmt(idle.oldestIdleS)} s)`,
          kib((idle.loaded - idle.baseline) / idleConnectionCount),
          mib(idle.baseline),
          mib(idle.loaded),
        ],
        [
          `streaming connections: ${streamCount} streams, one chunk per ${slowChunkIntervalMs} ms (${streaming.chunks} chunks seen)`,
          kib((streaming.loaded - streaming.baseline) / streamCount),
          mib(streaming.baseline),
          mib(streaming.loaded),
        ],
      ],
    )
  } finally {
    await upstream.close()
  }
}

/** Prints the /v1 tables; each figure on its own, so one failing loses none of the others. */
export async function benchRelay(): Promise<void> {
  mkdirSync(fixturesDirectory, { recursive: true })
  const modelPath = ensureFixture(fixturesDirectory, tinyQwen3).path
  const parts: [string, () => Promise<void>][] = [
    ['overhead', () => relayOverhead(modelPath)],
    ['throughput', () => embeddedThroughput(modelPath)],
    ['memory', relayMemory],
    ['signal-flood', benchSignalFlood],
    ['failover', benchUpstreams],
  ]
  // BENCH_RELAY_PARTS=signal-flood runs that part alone.
  const only = new Set((process.env.BENCH_RELAY_PARTS ?? parts.map(([name]) => name).join(',')).split(',').map((name) => name.trim()))
  for (const [name, run] of parts) if (only.has(name)) await run().catch((error: unknown) => console.error(`relay bench: ${name} failed:`, error))
}

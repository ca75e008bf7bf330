// Embeddings per second on POST /v1/embeddings: a relay process whose embedding model
// (RELAY_EMBEDDING_MODEL_PATH) is the bench bert (384 wide, 6 layers: the production model's
// compute per token, random weights), batches of 1 and 16 texts of about 25 words, requests one
// after another; beside it the same model through the backend in this process (no HTTP), so
// the ratio is what the relay's HTTP, JSON and checks add.
import { mkdirSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { ensureFixture } from '../../scripts/gguf/fixture-file'
import { benchEmbedding } from '../../scripts/gguf/specs'
import { createLogger } from '../../src/relay/log'
import { createEmbeddingBackend } from '../../src/relay/v1/embedded-embedding'
import { mulberry32 } from '../../src/shared/hash'
import { startRelay } from './relay-process'
import { fmt, median, runSection, table } from './stats'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))
const modelId = 'bench-embedding'
const windowMs = Number(process.env.BENCH_EMBED_WINDOW_MS ?? 5_000)
const batchSizes = [1, 16]
// On a shared machine one thread may beat several (llama.cpp's threads spin while they wait for a core).
const threads = Number(process.env.BENCH_EMBED_THREADS ?? Math.min(4, os.availableParallelism()))
const words = 'the relay room node memory peer task answer model swarm signed entry key browser search vector market bid award lease result'.split(' ')

function texts(count: number, seed: number): string[] {
  const random = mulberry32(seed)
  return Array.from({ length: count }, (_, i) => `${i}: ${Array.from({ length: 25 }, () => words[Math.floor(random() * words.length)] ?? 'x').join(' ')}`)
}

interface Rate {
  textsPerS: number
  p50Ms: number
  requests: number
}

/** Runs `embed` on fresh batches of `size` for `windowMs`, one after another. */
async function rateOf(size: number, embed: (input: string[]) => Promise<void>): Promise<Rate> {
  await embed(texts(size, 1))
  const latencies: number[] = []
  const started = performance.now()
  let seed = 2
  while (performance.now() - started < windowMs) {
    const sent = performance.now()
    await embed(texts(size, seed++))
    latencies.push(performance.now() - sent)
  }
  const elapsedS = (performance.now() - started) / 1000
  return { textsPerS: (latencies.length * size) / elapsedS, p50Ms: median(latencies), requests: latencies.length }
}

export async function benchEmbeddings(): Promise<void> {
  await runSection('embeddings', 'embeddings per second', async () => {
    mkdirSync(fixturesDirectory, { recursive: true })
    const modelPath = ensureFixture(fixturesDirectory, benchEmbedding).path
    const rows: string[][] = []
    const relay = await startRelay({ RELAY_EMBEDDING_MODEL_PATH: modelPath, RELAY_MODEL_THREADS: String(threads), RELAY_MODEL_GPU: 'off', RELAY_RATE_PER_MIN: '1000000', RELAY_DAILY_TOKENS: '0' })
    const viaHttp = new Map<number, Rate>()
    try {
      for (const size of batchSizes) {
        viaHttp.set(
          size,
          await rateOf(size, async (input) => {
            const response = await fetch(`${relay.url}/v1/embeddings`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: modelId, input }) })
            if (!response.ok) throw new Error(`/v1/embeddings answered ${response.status}: ${await response.text()}`)
            await response.arrayBuffer()
          }),
        )
      }
    } finally {
      await relay.stop()
    }
    const backend = createEmbeddingBackend({ modelPath, threads, contextSize: 512, gpu: false }, createLogger('silent'))
    try {
      for (const size of batchSizes) {
        const direct = await rateOf(size, async (input) => {
          await backend.embed?.({ model: modelId, input }, new AbortController().signal)
        })
        const http = viaHttp.get(size)
        rows.push(
          [`/v1/embeddings, batch ${size}`, fmt(http?.textsPerS ?? 0), fmt(http?.p50Ms ?? 0), String(http?.requests ?? 0), fmt((http?.textsPerS ?? 0) / direct.textsPerS, 2)],
          [`in process (no HTTP), batch ${size}`, fmt(direct.textsPerS), fmt(direct.p50Ms), String(direct.requests), '1.00'],
        )
      }
    } finally {
      await backend.close()
    }
    table(
      `Embeddings per second (bench bert 384 × 6 layers, ~25-word texts, ${threads} threads, CPU, ${windowMs / 1000} s per row, load average ${fmt(os.loadavg()[0] ?? 0)} on ${os.availableParallelism()} cores)`,
      ['path', 'texts/s', 'p50 ms / request', 'requests', '÷ in process'],
      rows,
    )
  })
}

// Memory search figures: embeddings per second (the browser's embedding worker, wllama, and
// llama.cpp native for reference), index size per 1,000 entries, and hybrid search latency at
// 10,000 entries. The models are the generated ones (random weights): the bench one has the
// production model's dimensions (384 wide, 6 layers, n_ff 1536) with a small vocabulary, so
// compute per token is the production model's; the vocabulary only changes the lookup.
import { chromium } from '@playwright/test'
import { loadavg } from 'node:os'
import { serialize } from 'node:v8'
import { ensureFixture } from '../../scripts/gguf/fixture-file'
import { benchEmbedding, tinyEmbedding } from '../../scripts/gguf/specs'
import { normalize } from '../../src/inference/embedding/embedder'
import { fuseRankings } from '../../src/memory/fusion'
import { searchScored } from '../../src/memory/search'
import { VectorIndex, vectorVersion } from '../../src/memory/vector-index'
import { mulberry32 } from '../../src/shared/hash'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { appPath, freshRoom, readyNodeId } from '../e2e/support/nodes'
import { startRelay } from './relay-process'
import { fmt, median, runSection, table } from './stats'

const fixturesDirectory = 'test/fixtures'
const entryCount = Number(process.env.BENCH_EMBED_ENTRIES ?? 48)
const dimensions = 384

const vocabulary = 'the relay room node memory peer task answer model swarm signed entry key browser search vector market bid award lease result der die das und la les el que il une mit port'.split(
  ' ',
)

function sentence(random: () => number, words: number): string {
  return Array.from({ length: words }, () => vocabulary[Math.floor(random() * vocabulary.length)] ?? 'x').join(' ')
}

/** Entries of about 25 words, as notes in a room's memory are. */
function entryTexts(count: number, seed = 7): string[] {
  const random = mulberry32(seed)
  return Array.from({ length: count }, (_, i) => `${i}: ${sentence(random, 25)}`)
}

async function browserEmbeddingRate(modelFile: string): Promise<{ perS: number; loadMs: number }> {
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: fixturesDirectory })
  const browser = await chromium.launch(chromiumLaunchOptions())
  try {
    const context = await browser.newContext({ baseURL: relay.url })
    const page = await context.newPage()
    await page.goto(appPath(freshRoom('bench-embed'), { engine: 'none', embedModel: `/models/${modelFile}` }))
    await readyNodeId(page)
    return await page.evaluate(async (texts) => {
      const api = globalThis.edgeswarm
      if (!api) throw new Error('no edgeswarm API')
      const loadStarted = performance.now()
      await api.memory.semantic.enable()
      const loadMs = performance.now() - loadStarted
      for (const text of texts) await api.memory.add(text)
      await api.memory.list()
      const started = performance.now()
      // The index follows the store's change event; wait until it has every entry.
      for (;;) {
        await api.memory.semantic.settled()
        const state = api.memory.semantic.state()
        if (state.phase === 'on' && state.indexed >= texts.length) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return { perS: texts.length / ((performance.now() - started) / 1000), loadMs }
    }, entryTexts(entryCount))
  } finally {
    await browser.close()
    await relay.stop()
  }
}

async function nativeEmbeddingRate(modelPath: string): Promise<{ perS: number; tokensPerText: number }> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
  const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error })
  try {
    const model = await llama.loadModel({ modelPath })
    const context = await model.createEmbeddingContext({ threads: 1 })
    const texts = entryTexts(entryCount)
    const started = performance.now()
    for (const text of texts) await context.getEmbeddingFor(text)
    const perS = texts.length / ((performance.now() - started) / 1000)
    // The generated vocabulary spells most words in characters: more tokens per text than XLM-R's 250k pieces would make.
    const tokensPerText = texts.reduce((sum, text) => sum + model.tokenize(text).length, 0) / texts.length
    return { perS, tokensPerText }
  } finally {
    await llama.dispose()
  }
}

function loadAverage(): string {
  return loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')
}

function randomUnit(random: () => number): Float32Array {
  return normalize(Float32Array.from({ length: dimensions }, () => random() * 2 - 1))
}

/** Bytes per 1,000 entries: the vectors in memory, and the rows as IndexedDB stores them (V8 structured clone). */
function indexSize(): { memoryBytes: number; storedBytes: number } {
  const random = mulberry32(11)
  let storedBytes = 0
  for (let i = 0; i < 1000; i++) {
    const id = `${'n'.repeat(16)}-${i.toString(36).padStart(12, '0')}`
    storedBytes += serialize({
      room: 'r'.repeat(64),
      id,
      version: vectorVersion(1_764_000_000_000 + i, `entry ${i}`),
      model: 'granite-embedding-107m-multilingual-Q8_0',
      vector: randomUnit(random),
    }).length
  }
  return { memoryBytes: 1000 * dimensions * 4, storedBytes }
}

/** Median latency of the fused search over 10,000 entries, the query's embedding left out (measured above). */
function searchLatency(): { vectorMs: number; keywordMs: number; fusedMs: number } {
  const random = mulberry32(13)
  const texts = entryTexts(10_000, 13)
  const items = texts.map((text, i) => ({ id: `e${i}`, text, tags: [] as string[], updatedAt: i }))
  const index = new VectorIndex(dimensions)
  for (const item of items) index.set(item.id, { version: vectorVersion(item.updatedAt, item.text), vector: randomUnit(random) })
  const byId = new Map(items.map((item) => [item.id, item]))
  const vectorMs: number[] = []
  const keywordMs: number[] = []
  const fusedMs: number[] = []
  for (let run = 0; run < 30; run++) {
    const query = randomUnit(random)
    const text = sentence(random, 2)
    const started = performance.now()
    const vector = index.nearest(query, 50)
    const vectorDone = performance.now()
    const keyword = searchScored(items, text, 50)
    const keywordDone = performance.now()
    fuseRankings(keyword, vector, (id) => byId.get(id), 10)
    const done = performance.now()
    vectorMs.push(vectorDone - started)
    keywordMs.push(keywordDone - vectorDone)
    fusedMs.push(done - started)
  }
  return { vectorMs: median(vectorMs), keywordMs: median(keywordMs), fusedMs: median(fusedMs) }
}

export async function benchMemorySearch(): Promise<void> {
  const bench = ensureFixture(fixturesDirectory, benchEmbedding)
  ensureFixture(fixturesDirectory, tinyEmbedding)
  await runSection('memory search', 'embeddings per second', async () => {
    const browserBench = await browserEmbeddingRate('bench-embedding.gguf')
    const browserTiny = await browserEmbeddingRate('tiny-embedding.gguf')
    const native = await nativeEmbeddingRate(bench.path)
    table(
      `Memory search: embeddings per second (${entryCount} entries of ~25 words, ${fmt(native.tokensPerText, 0)} tokens each, one at a time; load average ${loadAverage()})`,
      ['runtime', 'model', 'embeddings/s', 'tokens/s', 'model load (ms)'],
      [
        ['browser worker, wllama (WASM)', 'bench-embedding (production dims)', fmt(browserBench.perS), fmt(browserBench.perS * native.tokensPerText, 0), fmt(browserBench.loadMs, 0)],
        ['browser worker, wllama (WASM)', 'tiny-embedding (64 wide)', fmt(browserTiny.perS), fmt(browserTiny.perS * native.tokensPerText, 0), fmt(browserTiny.loadMs, 0)],
        ['llama.cpp native, 1 thread (reference)', 'bench-embedding (production dims)', fmt(native.perS), fmt(native.perS * native.tokensPerText, 0), '-'],
      ],
    )
  })
  await runSection('memory search', 'index size and search latency', () => {
    const size = indexSize()
    table(
      'Memory search: index size per 1,000 entries (384 dimensions)',
      ['where', 'bytes', 'per entry'],
      [
        ['in memory (Float32 vectors)', fmt(size.memoryBytes / 1e6, 2) + ' MB', fmt(size.memoryBytes / 1000, 0) + ' B'],
        ['IndexedDB rows (structured clone)', fmt(size.storedBytes / 1e6, 2) + ' MB', fmt(size.storedBytes / 1000, 0) + ' B'],
      ],
    )
    const latency = searchLatency()
    table(
      'Memory search: latency at 10,000 entries (median of 30, query embedding excluded)',
      ['part', 'ms'],
      [
        ['vector: brute-force cosine, top 50', fmt(latency.vectorMs, 2)],
        ['keyword: scoreMatch, top 50', fmt(latency.keywordMs, 2)],
        ['hybrid: both + RRF, top 10', fmt(latency.fusedMs, 2)],
      ],
    )
    return Promise.resolve()
  })
}

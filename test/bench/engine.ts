// The figures of "Local reasoning on every node": the WASM engine's speed beside native llama.cpp,
// its model load time, and what one tab, and a second tab sharing its engine, cost in memory.
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, CDPSession, Page } from '@playwright/test'
import { appPath, freshRoom } from '../e2e/support/nodes'
import { chatMlPrompt, openNativeBench, type SpeedSample } from './engine-native'
import { startRelay, type RelayProcess } from './relay-process'
import { fmt, median, table, runSection } from './stats'
import { launchMeasuringChromium, openHarness } from './harness-page'
import type { WllamaName } from '../harness/main'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))
const benchModel = 'bench-qwen3.gguf'
const tinyModel = 'tiny-qwen3.gguf'
const contextSize = 1024
const promptTokens = 128
const generateTokens = 128
const runs = 3
const loadSamples = 3
const modelReadyTimeoutMs = 180_000
const memoryMeasureTimeoutMs = 60_000
const threadCounts = cpus().length >= 2 ? [1, 2] : [1]

// Cut to `promptTokens` tokens by the native tokenizer, and the same text goes to both sides.
export const promptSource = `Every tab that opens the link becomes a node of the swarm. The node joins its room through the relay, finds its peers over WebRTC, and shares one memory document with them. It downloads the model once, keeps it in the origin private file system, and loads it into a worker, so that the page stays responsive while the model thinks. When a question arrives, the node answers it with its own model when it can, and asks a faster peer when its own model is too slow or still loading. Explain, step by step and in plain words, how a second tab of the same browser reuses the model that the first tab has already loaded, what it sends over the broadcast channel, what happens when the first tab closes, and how the swarm keeps working when the network goes away for a while.`

/** The prompt of run `run` (0 is the warm-up): a different first word, so no run reuses another's KV cache. */
export const runContent = (base: string, run: number): string => `${run}. ${base}`

export interface BrowserSpeed {
  /** llama.cpp's own timings, as the engine reports them in info(). */
  engine: { prefillTokensPerS: number; decodeTokensPerS: number }
  wall: { prefillTokensPerS: number; decodeTokensPerS: number }
  promptTokens: number
  generatedTokens: number
  /** The threads the engine says it computes on (absent: an engine that does not say, as before issue 16). */
  threads: number | null
}

/** Creates the harness engine and loads it; returns the milliseconds from create to ready. */
export function loadHarnessEngine(page: Page, modelUrl: string, options: { threads?: number; contextSize?: number; wllama?: WllamaName }): Promise<number> {
  return page.evaluate(
    async ({ modelUrl, options }) => {
      const startedMs = performance.now()
      await globalThis.harness.createWasmEngine(modelUrl, options).load(() => undefined)
      return performance.now() - startedMs
    },
    { modelUrl, options },
  )
}

export function unloadHarnessEngine(page: Page): Promise<void> {
  return page.evaluate(async () => {
    await globalThis.engine?.unload()
    globalThis.engine = undefined
  })
}

export function chatInPage(page: Page, content: string, maxTokens: number): Promise<BrowserSpeed> {
  return page.evaluate(
    async ({ content, maxTokens }) => {
      const engine = globalThis.engine
      if (!engine) throw new Error('no engine in the harness page')
      const startedMs = performance.now()
      let firstMs = 0
      let lastMs = 0
      let usage = { prompt_tokens: 0, completion_tokens: 0 }
      for await (const chunk of engine.chat({ messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0, seed: 42, enable_thinking: false })) {
        if (chunk.choices[0].delta.content) {
          lastMs = performance.now()
          if (!firstMs) firstMs = lastMs
        }
        if (chunk.usage) usage = chunk.usage
      }
      const info = engine.info()
      return {
        engine: { prefillTokensPerS: info.prefillTokensPerS, decodeTokensPerS: info.decodeTokensPerS },
        wall: {
          prefillTokensPerS: usage.prompt_tokens / ((firstMs - startedMs) / 1000),
          decodeTokensPerS: (usage.completion_tokens - 1) / ((lastMs - firstMs) / 1000),
        },
        promptTokens: usage.prompt_tokens,
        generatedTokens: usage.completion_tokens,
        threads: info.threads ?? null,
      }
    },
    { content, maxTokens },
  )
}

const range = (values: number[]): string => (values.length === 0 ? 'n/a' : Math.min(...values) === Math.max(...values) ? String(values[0]) : `${Math.min(...values)}–${Math.max(...values)}`)

/** The two wllama builds the speed table compares: the app's dependency and the newer one beside it. */
const wllamaBuilds: readonly { name: WllamaName; version: string }[] = [
  { name: 'app', version: packageVersion('@wllama/wllama') },
  { name: 'next', version: packageVersion('wllama-next') },
]

function packageVersion(name: string): string {
  const manifest: unknown = JSON.parse(readFileSync(fileURLToPath(new URL(`../../node_modules/${name}/package.json`, import.meta.url)), 'utf8'))
  return typeof manifest === 'object' && manifest !== null && 'version' in manifest && typeof manifest.version === 'string' ? manifest.version : '?'
}

async function speedSection(browser: Browser, relay: RelayProcess): Promise<void> {
  // Other work on this machine skews the multi-thread figures most: the load average says how much.
  const before = loadavg()[0]?.toFixed(2)
  const native = await openNativeBench(`${fixturesDirectory}${benchModel}`, contextSize)
  const nativeSamples = new Map<number, SpeedSample[]>()
  /** Keyed by `${threads} ${build}`. */
  const browserSamples = new Map<string, BrowserSpeed[]>()
  try {
    const { context, page } = await openHarness(browser, relay)
    try {
      const base = native.fitPrompt(promptSource.split(' '), promptTokens, (content) => runContent(content, 0))
      for (const threads of threadCounts) {
        const nat: SpeedSample[] = []
        await native.measure(runContent(base, 0), threads, 8)
        for (const build of wllamaBuilds) {
          // The first load downloads the model into OPFS; the next ones read it from there.
          await loadHarnessEngine(page, `/models/${benchModel}`, { threads, contextSize, wllama: build.name })
          try {
            await chatInPage(page, runContent(base, 0), 8)
            const web: BrowserSpeed[] = []
            // Native and browser runs alternate, so that other load on the machine hits both alike.
            for (let run = 1; run <= runs; run++) {
              nat.push(await native.measure(runContent(base, run), threads, generateTokens))
              web.push(await chatInPage(page, runContent(base, run), generateTokens))
            }
            browserSamples.set(`${threads} ${build.name}`, web)
          } finally {
            await unloadHarnessEngine(page)
          }
        }
        nativeSamples.set(threads, nat)
      }
    } finally {
      await context.close()
    }
  } finally {
    await native.dispose()
  }
  const rows: string[][] = []
  for (const threads of threadCounts) {
    const nat = nativeSamples.get(threads) ?? []
    for (const phase of ['prefill', 'decode'] as const) {
      const key = phase === 'prefill' ? 'prefillTokensPerS' : 'decodeTokensPerS'
      const nativeRate = median(nat.map((sample) => sample[key]))
      const rates = wllamaBuilds.map((build) => median((browserSamples.get(`${threads} ${build.name}`) ?? []).map((sample) => sample.engine[key])))
      const walls = wllamaBuilds.map((build) => median((browserSamples.get(`${threads} ${build.name}`) ?? []).map((sample) => sample.wall[key])))
      const tokens = wllamaBuilds.map((build) => (browserSamples.get(`${threads} ${build.name}`) ?? []).map((s) => (phase === 'prefill' ? s.promptTokens : s.generatedTokens)))
      const nativeTokens = nat.map((s) => (phase === 'prefill' ? s.promptTokens : s.generatedTokens))
      const [older = 0, newer = 0] = rates
      rows.push([
        String(threads),
        phase,
        fmt(nativeRate),
        ...rates.flatMap((rate, index) => [fmt(rate), fmt(walls[index] ?? 0), fmt(rate / nativeRate, 2)]),
        fmt(newer / older, 2),
        [range(nativeTokens), ...tokens.map(range)].join(' / '),
      ])
    }
  }
  const [app, next] = wllamaBuilds.map((build) => `wllama ${build.version}`)
  table(
    `Local reasoning: WASM engine (wllama in Chromium, ${app} and ${next}) vs native llama.cpp (node-llama-cpp), ${benchModel}, greedy, median of ${runs}`,
    ['threads', 'phase', 'native tok/s', `${app} tok/s`, 'wall tok/s', '÷ native', `${next} tok/s`, 'wall tok/s', '÷ native', `${next} ÷ ${app}`, 'tokens native / each wasm'],
    rows,
  )
  console.log(
    `native: llama.cpp CPU build, prefill = prompt tokens ÷ time to first token, decode = (n − 1) ÷ time after it. wasm: llama.cpp's own timings (engine.info()); wall: the same from the page, worker messaging included. Both wllama builds run the same WllamaEngine (the app's worker, and test/harness/wllama-next.worker.ts), CPU only. Same file, prompt, thread count and context ${contextSize}; one warm-up run each, then native and wasm runs alternate (native pooled over both builds' runs); system load average before/after ${before} / ${loadavg()[0]?.toFixed(2)}.`,
  )
}

async function loadSection(browser: Browser, relay: RelayProcess): Promise<void> {
  const cold: number[] = []
  const warm: number[] = []
  for (let i = 0; i < loadSamples; i++) {
    // A fresh context has an empty OPFS: the first load downloads, the next ones read the cache.
    const { context, page } = await openHarness(browser, relay)
    try {
      cold.push(await loadHarnessEngine(page, `/models/${tinyModel}`, { contextSize }))
      await unloadHarnessEngine(page)
      warm.push(await loadHarnessEngine(page, `/models/${tinyModel}`, { contextSize }))
      await unloadHarnessEngine(page)
    } finally {
      await context.close()
    }
  }
  table(
    `Model load in the browser (${tinyModel}, create engine → load → ready)`,
    ['figure', 'p50 ms', 'max ms', 'samples'],
    [
      ['cold: empty OPFS, download + load', fmt(median(cold)), fmt(Math.max(...cold)), String(cold.length)],
      ['warm: after unload, same context, from OPFS', fmt(median(warm)), fmt(Math.max(...warm)), String(warm.length)],
    ],
  )
}

interface TabMemory {
  /** performance.measureUserAgentSpecificMemory(): this tab's JS and DOM, its workers included. */
  uaBytes: number | null
  uaWorkerBytes: number | null
  /** CDP Performance.getMetrics: the main thread's V8 heap only. */
  mainHeapUsedBytes: number
  rendererPid: number | null
  rendererRssBytes: number | null
  rendererPrivateBytes: number | null
  /** What the engine view says of this tab's engine. */
  engineStatus: string
}

/** The renderer process of `page`: the one whose CPU time grows while the page spins. */
async function rendererPid(browserCdp: CDPSession, page: Page): Promise<number | null> {
  const cpuTimes = async (): Promise<Map<number, number>> => {
    const { processInfo } = await browserCdp.send('SystemInfo.getProcessInfo')
    return new Map(processInfo.filter((info) => info.type === 'renderer').map((info) => [info.id, info.cpuTime]))
  }
  const before = await cpuTimes()
  await page.evaluate(() => {
    const until = performance.now() + 400
    while (performance.now() < until) {
      // spin
    }
  })
  const after = await cpuTimes()
  let best: [number, number] | null = null
  for (const [pid, cpuTime] of after) {
    const grown = cpuTime - (before.get(pid) ?? 0)
    if (!best || grown > best[1]) best = [pid, grown]
  }
  return best?.[0] ?? null
}

function procKilobytes(path: string, field: string): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(path, 'utf8'))
    return match ? Number(match[1]) * 1024 : null
  } catch {
    return null
  }
}

async function measureTab(page: Page, browserCdp: CDPSession): Promise<TabMemory> {
  const ua = await page.evaluate(async (timeoutMs) => {
    interface Measurement {
      bytes: number
      breakdown: { bytes: number; attribution: { scope?: string }[] }[]
    }
    const perf = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<Measurement> }
    if (!perf.measureUserAgentSpecificMemory) return null
    const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs))
    const result = await Promise.race([perf.measureUserAgentSpecificMemory(), timeout])
    if (!result) return null
    const workerBytes = result.breakdown.filter((entry) => entry.attribution.some((a) => a.scope === 'DedicatedWorkerGlobalScope')).reduce((sum, entry) => sum + entry.bytes, 0)
    return { bytes: result.bytes, workerBytes }
  }, memoryMeasureTimeoutMs)
  const cdp = await page.context().newCDPSession(page)
  let mainHeapUsedBytes: number
  try {
    await cdp.send('Performance.enable')
    const { metrics } = await cdp.send('Performance.getMetrics')
    mainHeapUsedBytes = metrics.find((metric) => metric.name === 'JSHeapUsedSize')?.value ?? Number.NaN
  } finally {
    await cdp.detach()
  }
  const engineStatus = (await page.locator('[data-testid=engine-status]').textContent()) ?? ''
  const pid = await rendererPid(browserCdp, page)
  const rollup = `/proc/${pid ?? 0}/smaps_rollup`
  const privateClean = procKilobytes(rollup, 'Private_Clean')
  const privateDirty = procKilobytes(rollup, 'Private_Dirty')
  return {
    uaBytes: ua?.bytes ?? null,
    uaWorkerBytes: ua?.workerBytes ?? null,
    mainHeapUsedBytes,
    rendererPid: pid,
    rendererRssBytes: pid === null ? null : procKilobytes(`/proc/${pid}/status`, 'VmRSS'),
    rendererPrivateBytes: privateClean === null || privateDirty === null ? null : privateClean + privateDirty,
    engineStatus,
  }
}

async function openEngineTab(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(path)
  await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid=engine-view]')?.dataset.engineState === 'ready', undefined, { timeout: modelReadyTimeoutMs, polling: 250 })
  return page
}

async function memorySection(browser: Browser, relay: RelayProcess): Promise<void> {
  const context = await browser.newContext({ baseURL: relay.url })
  const browserCdp = await browser.newBrowserCDPSession()
  const rows: [string, TabMemory][] = []
  try {
    const path = appPath(freshRoom('bench-engine-memory'), { engine: 'wasm', model: `/models/${benchModel}` })
    const first = await openEngineTab(context, path)
    rows.push(['tab 1 alone (runs the engine)', await measureTab(first, browserCdp)])
    const second = await openEngineTab(context, path)
    // One after the other: finding a tab's renderer by its CPU time needs the other tab quiet.
    rows.push(['tab 1, tab 2 open', await measureTab(first, browserCdp)])
    rows.push(['tab 2 (shares tab 1’s engine)', await measureTab(second, browserCdp)])
  } finally {
    await browserCdp.detach()
    await context.close()
  }
  const mib = (bytes: number | null): string => (bytes === null ? 'n/a' : fmt(bytes / 2 ** 20))
  table(
    `Memory of app tabs with the WASM engine loaded (${benchModel}, MiB)`,
    ['tab', 'UA-specific total', 'of it workers', 'main JS heap', 'renderer RSS', 'renderer private', 'renderer pid'],
    rows.map(([label, m]) => [label, mib(m.uaBytes), mib(m.uaWorkerBytes), mib(m.mainHeapUsedBytes), mib(m.rendererRssBytes), mib(m.rendererPrivateBytes), String(m.rendererPid ?? 'n/a')]),
  )
  for (const [label, m] of rows) console.log(`${label}: engine view says "${m.engineStatus}"`)
}

/** `ENGINE_BENCH_PARTS=speed` (comma-separated: speed, load, memory) runs only those; default all. */
const parts = new Set((process.env.ENGINE_BENCH_PARTS ?? 'speed,load,memory').split(',').map((part) => part.trim()))
const section = (name: string, run: () => Promise<void>): Promise<void> => (parts.has(name) ? runSection('engine', name, run) : Promise.resolve())

/** Prints the engine tables; each part that fails prints its error and leaves the others. */
export async function benchEngine(): Promise<void> {
  const harnessRelay = await startRelay({ RELAY_STATIC_DIR: 'dist-harness', RELAY_MODELS_DIR: 'test/fixtures' })
  let appRelay: RelayProcess | null = null
  let browser: Browser | null = null
  try {
    appRelay = await startRelay({ RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: 'test/fixtures' })
    browser = await launchMeasuringChromium()
    const [chromiumBrowser, relay] = [browser, appRelay]
    console.log(
      `\n# engine bench — ${cpus().length} cores, threads ${threadCounts.join(', ')}, prompt ${promptTokens} tokens (${JSON.stringify(chatMlPrompt('…'))}), ${generateTokens} generated, context ${contextSize}`,
    )
    await section('speed', () => speedSection(chromiumBrowser, harnessRelay))
    await section('load', () => loadSection(chromiumBrowser, harnessRelay))
    await section('memory', () => memorySection(chromiumBrowser, relay))
  } finally {
    await browser?.close()
    await appRelay?.stop()
    await harnessRelay.stop()
  }
}

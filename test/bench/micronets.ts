// The figures of the micro-nets (issue 6): how fast the router decides through the worker pool
// beside the same net in TypeScript, ort's wasm with and without SIMD and on 1 or 2 threads, the
// bytes a page downloads to run them, and the page's memory with its workers.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { cpus } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib'
import { chromium, type Browser, type BrowserContext, type Request } from '@playwright/test'
import { build } from 'vite'
import type { RuntimeSettings } from '../../src/micronets/runtime/protocol'
import type { MemoryBench, PageMemory, RoutingBench } from '../harness/micronets-bench'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { startRelay, type RelayProcess } from './relay-process'
import { fmt, median, percentile, table, runSection } from './stats'
import { launchMeasuringChromium, openHarness } from './harness-page'

const decisions = Number(process.env.BENCH_MICRONET_DECISIONS ?? 2000)
const warmupDecisions = 200
const memoryDecisions = 1000
const extraSessions = 32
/** Built here rather than in dist-harness/, which the e2e run serves and may be using. */
const harnessDirectory = resolve('node_modules/.cache/edgeswarm/bench-harness')
const ortDirectory = resolve('node_modules/onnxruntime-web')
/** V8 without SSE4.1 reports no wasm SIMD: the one way found to run this Chromium without it. */
const noSimdFlag = '--js-flags=--no-enable-sse4-1'
const defaultSettings: RuntimeSettings = { threads: 1, simd: true }

async function buildHarness(): Promise<void> {
  await build({ configFile: resolve('vite.harness.config.ts'), logLevel: 'warn', build: { outDir: harnessDirectory, emptyOutDir: true } })
}

interface Fetched {
  file: string
  headerBytes: number
  /** The body as it came over the wire (still encoded, if it was). */
  bodyBytes: number
  /** CDP gives no body size for a worker's own script: Content-Length stands in. */
  bodyFromContentLength: boolean
  decodedBytes: number
  encoding: string
}

/** Records every response of the context, workers' included, until `stop`. */
function recordFetches(context: BrowserContext): { stop(): Promise<Fetched[]> } {
  const pending: Promise<Fetched | null>[] = []
  const onFinished = (request: Request): void => {
    pending.push(
      (async () => {
        const response = await request.response()
        if (!response) return null
        const sizes = await request.sizes()
        const contentLength = Number((await response.headerValue('content-length')) ?? Number.NaN)
        const encoding = (await response.headerValue('content-encoding')) ?? 'none'
        const bodyFromContentLength = sizes.responseBodySize === 0 && contentLength > 0
        // Bodies compiled while streaming (the wasm) are not kept: unencoded, Content-Length is the decoded size.
        const body = await response.body().catch(() => null)
        return {
          file: basename(new URL(request.url()).pathname) || '/',
          headerBytes: sizes.responseHeadersSize,
          bodyBytes: bodyFromContentLength ? contentLength : sizes.responseBodySize,
          bodyFromContentLength,
          decodedBytes: body?.byteLength ?? (encoding === 'none' ? contentLength : Number.NaN),
          encoding,
        }
      })().catch(() => null),
    )
  }
  context.on('requestfinished', onFinished)
  return {
    stop: async () => {
      context.off('requestfinished', onFinished)
      return (await Promise.all(pending)).filter((fetched): fetched is Fetched => fetched !== null)
    },
  }
}

const ms = (value: number): string => fmt(value, 3)
const mib = (bytes: number): string => fmt(bytes / 2 ** 20, 2)
const kib = (bytes: number): string => fmt(bytes / 1024, 1)
const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''

interface RoutingRun {
  routing: RoutingBench
  ortRunMs: number[]
  ortCreateMs: number
  wasmFiles: string[]
}

/** Both page-side benches in a fresh context (fresh cache, fresh workers) with `settings`. */
async function routingRun(browser: Browser, relay: RelayProcess, settings: RuntimeSettings): Promise<RoutingRun> {
  const { context, page } = await openHarness(browser, relay)
  const recording = recordFetches(context)
  try {
    const routing = await page.evaluate((options) => globalThis.micronets.benchRouting(options), { decisions, warmup: warmupDecisions, settings })
    const ort = await page.evaluate((options) => globalThis.micronets.benchOrtRun(options), { runs: decisions, warmup: warmupDecisions, settings })
    const wasmFiles = [...new Set((await recording.stop()).map((fetched) => fetched.file).filter((file) => file.endsWith('.wasm')))]
    return { routing, ortRunMs: ort.runMs, ortCreateMs: ort.createMs, wasmFiles }
  } finally {
    await context.close()
  }
}

function latencySection(run: RoutingRun): void {
  const { routing } = run
  const inlineP50 = median(routing.inlineDecideMs)
  const row = (label: string, samples: number[]): string[] => [label, ms(median(samples)), ms(percentile(samples, 99)), ms(mean(samples)), fmt(median(samples) / inlineP50, 1)]
  table(
    `Router decision latency (${decisions} decisions over a mix of 12 requests, after ${warmupDecisions} warm-up; ort wasm, SIMD, ${routing.threads} thread)`,
    ['path', 'p50 ms', 'p99 ms', 'mean ms', 'p50 ÷ inline decide'],
    [
      row('worker pool: router.decide (features + postMessage both ways + ort run)', routing.pooledDecideMs),
      row('worker pool: pool.run (postMessage both ways + ort run; features ready)', routing.poolRunMs),
      row('in a worker: ort session.run alone (Tensor in, output copied out)', run.ortRunMs),
      row('main thread: router.decide, the same net in TypeScript (inlineScorer)', routing.inlineDecideMs),
      row('main thread: routerFeatures alone', routing.featuresMs),
    ],
  )
  console.log(`aim: p50 < 1 ms through the worker pool; measured ${ms(median(routing.pooledDecideMs))} ms`)
  console.log(
    `cold start: pool created → first decision ${fmt(routing.firstDecisionMs, 0)} ms (worker start, ort's wasm fetched and compiled, session created); ort session create alone ${fmt(run.ortCreateMs, 1)} ms`,
  )
  console.log(
    `pooled and inline routers chose the same route in ${routing.sameRoute}/${decisions} decisions; routes ${JSON.stringify(routing.routes)}; crossOriginIsolated ${routing.crossOriginIsolated} (timer resolution about 5 µs)`,
  )
}

interface SettingRow {
  label: string
  run: RoutingRun | null
  error: string | null
}

async function settingRow(browser: Browser, relay: RelayProcess, label: string, settings: RuntimeSettings): Promise<SettingRow> {
  try {
    return { label, run: await routingRun(browser, relay, settings), error: null }
  } catch (error) {
    return { label, run: null, error: errorText(error) }
  }
}

async function simdThreadsSection(browser: Browser, relay: RelayProcess, base: RoutingRun): Promise<void> {
  const ortWasm = readdirSync(join(ortDirectory, 'dist')).filter((file) => file.endsWith('.wasm'))
  const rows: SettingRow[] = [
    { label: 'SIMD, 1 thread (the default here)', run: base, error: null },
    await settingRow(browser, relay, 'SIMD, 2 threads', { threads: 2, simd: true }),
    await settingRow(browser, relay, 'env.wasm.simd = false, 1 thread', { threads: 1, simd: false }),
  ]
  const noSimdBrowser = await chromium.launch({ ...chromiumLaunchOptions(), args: [...(chromiumLaunchOptions().args ?? []), noSimdFlag] })
  let simdValidates: boolean
  try {
    const { context, page } = await openHarness(noSimdBrowser, relay)
    simdValidates = await page.evaluate(() => globalThis.micronets.wasmSimdSupported())
    await context.close()
    rows.push(await settingRow(noSimdBrowser, relay, `browser without SIMD (${noSimdFlag}), env.wasm.simd = true`, { threads: 1, simd: true }))
    rows.push(await settingRow(noSimdBrowser, relay, `browser without SIMD (${noSimdFlag}), env.wasm.simd = false`, { threads: 1, simd: false }))
  } finally {
    await noSimdBrowser.close()
  }
  const baseP50 = median(base.routing.pooledDecideMs)
  table(
    `onnxruntime-web ${ortVersion()}: SIMD and threads (router.decide through the pool, ${decisions} decisions each, fresh context each)`,
    ['setting', 'wasm fetched', 'decide p50 ms', 'decide p99 ms', 'session.run p50 ms', 'first decision ms', 'p50 ÷ default'],
    rows.map(({ label, run }) =>
      run
        ? [
            label,
            run.wasmFiles.join(' ') || 'none',
            ms(median(run.routing.pooledDecideMs)),
            ms(percentile(run.routing.pooledDecideMs, 99)),
            ms(median(run.ortRunMs)),
            fmt(run.routing.firstDecisionMs, 0),
            fmt(median(run.routing.pooledDecideMs) / baseP50, 2),
          ]
        : [label, '—', 'fails', 'fails', 'fails', '—', 'n/a'],
    ),
  )
  for (const row of rows) if (row.error) console.log(`${row.label}: ${row.error}`)
  for (const row of rows) if (row.run && row.run.routing.threads !== (row.label.includes('2 threads') ? 2 : 1)) console.log(`${row.label}: the worker reports ${row.run.routing.threads} thread(s)`)
  console.log(
    `ort ${ortVersion()} ships these wasm builds: ${ortWasm.join(', ')}: every one needs SIMD, and env.wasm.simd = false only skips ort's SIMD check; a run without SIMD is n/a with this version. In the browser started with ${noSimdFlag}, WebAssembly.validate of a SIMD module: ${simdValidates}.`,
  )
}

function ortVersion(): string {
  return (JSON.parse(readFileSync(join(ortDirectory, 'package.json'), 'utf8')) as { version: string }).version
}

const isMicronetAsset = (file: string): boolean => /ort-wasm|onnxruntime|micronet/.test(file)

function fileSizes(directory: string): { file: string; bytes: number }[] {
  try {
    return readdirSync(join(directory, 'assets'))
      .filter((file) => isMicronetAsset(file) && !/\.(map|br|gz)$/.test(file))
      .map((file) => ({ file, bytes: statSync(join(directory, 'assets', file)).size }))
  } catch {
    return []
  }
}

async function bytesSection(browser: Browser, relay: RelayProcess): Promise<void> {
  const app = fileSizes('dist')
  console.log(
    `\nthe built app (dist/assets): ${app.length === 0 ? 'no ort wasm, ort mjs or micro-net worker: the app downloads nothing for the micro-nets' : app.map(({ file, bytes }) => `${file} ${kib(bytes)} KiB`).join(', ')}`,
  )
  const [directory, label] = app.length > 0 ? ['dist', 'the built app, dist/'] : [harnessDirectory, 'the harness build: the app bundles none']
  const sibling = (file: string, suffix: string): string => {
    try {
      return kib(statSync(join(directory, 'assets', `${file}${suffix}`)).size)
    } catch {
      return '—'
    }
  }
  table(
    `Micro-net assets as Vite builds them (${label}; KiB): raw, the build's precompressed copies the relay serves, and brotli at its best`,
    ['file', 'raw', 'built .gz (gzip -9)', 'built .br (brotli 9)', 'brotli -11', 'brotli -11 ÷ raw'],
    [
      ...fileSizes(directory).map(({ file, bytes }) => {
        const raw = readFileSync(join(directory, 'assets', file))
        const brotli = brotliCompressSync(raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: raw.byteLength } }).byteLength
        return [file, kib(bytes), sibling(file, '.gz'), sibling(file, '.br'), kib(brotli), fmt(brotli / bytes, 2)]
      }),
    ],
  )

  const context = await browser.newContext({ baseURL: relay.url })
  try {
    const page = await context.newPage()
    const loading = recordFetches(context)
    await page.goto('/')
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    const pageLoad = await loading.stop()
    const starting = recordFetches(context)
    await page.evaluate(() => globalThis.micronets.benchRouting({ decisions: 1, warmup: 0, settings: { threads: 1, simd: true } }))
    const poolStart = await starting.stop()
    const sum = (fetched: Fetched[], key: 'headerBytes' | 'bodyBytes' | 'decodedBytes'): number => fetched.reduce((total, item) => total + item[key], 0)
    const row = (when: string, fetched: Fetched): string[] => [
      when,
      fetched.file,
      kib(fetched.headerBytes),
      `${kib(fetched.bodyBytes)}${fetched.bodyFromContentLength ? ' *' : ''}`,
      kib(fetched.decodedBytes),
      fetched.encoding,
    ]
    table(
      'Bytes fetched in a real page load of the harness (fresh context, relay on localhost; KiB)',
      ['when', 'file', 'headers', 'body as sent', 'decoded body', 'content-encoding'],
      [
        ...pageLoad.map((fetched) => row('page load', fetched)),
        ...poolStart.map((fetched) => row('pool start → first decision', fetched)),
        ['pool start, total', '', kib(sum(poolStart, 'headerBytes')), kib(sum(poolStart, 'bodyBytes')), kib(sum(poolStart, 'decodedBytes')), ''],
      ],
    )
    if ([...pageLoad, ...poolStart].some((fetched) => fetched.bodyFromContentLength)) console.log("* CDP reports no body size for a worker's own script; its Content-Length is shown.")
    console.log('Only the pool-start rows are the micro-nets. The relay sends the build\'s precompressed copy a browser accepts (content-encoding), so "body as sent" is what crosses the network.')
  } finally {
    await context.close()
  }
}

async function memorySection(browser: Browser, relay: RelayProcess): Promise<void> {
  const { context, page } = await openHarness(browser, relay)
  let memory: MemoryBench
  try {
    memory = await page.evaluate((options) => globalThis.micronets.benchMemory(options), { decisions: memoryDecisions, sessions: extraSessions })
  } finally {
    await context.close()
  }
  const steps: [string, PageMemory | null][] = [
    ['page, no pool', memory.noPool],
    ['pool: 1 worker, router session warm (after 100 decisions)', memory.warm],
    [`after ${memoryDecisions} more decisions`, memory.afterDecisions],
    [`with ${extraSessions} more warm sessions (${memory.liveSessions} live)`, memory.withSessions],
    [`those ${extraSessions} disposed`, memory.afterDispose],
  ]
  let previous: PageMemory | null = null
  const rows = steps.map(([label, measured]) => {
    const delta = measured && previous ? mib(measured.totalBytes - previous.totalBytes) : ''
    previous = measured
    return [label, measured ? mib(measured.totalBytes) : 'n/a', measured ? mib(measured.workerBytes) : 'n/a', delta]
  })
  table('Memory of the harness page with its workers (performance.measureUserAgentSpecificMemory, wasm memory included; MiB)', ['state', 'total', 'of it workers', 'Δ total'], rows)
  const { afterDecisions, withSessions, warm, noPool } = memory
  if (afterDecisions && withSessions)
    console.log(
      `per warm session of the router's shape: ${kib((withSessions.totalBytes - afterDecisions.totalBytes) / extraSessions)} KiB (wasm memory grows in steps and never shrinks, so this is coarse)`,
    )
  if (warm && noPool) console.log(`the pool itself (a worker with ort loaded and one session): ${mib(warm.totalBytes - noPool.totalBytes)} MiB`)
}

const section = (name: string, run: () => Promise<void>): Promise<void> => runSection('micronets', name, run)

/** Prints the micro-net tables; each part that fails prints its error and leaves the others. */
export async function benchMicronets(): Promise<void> {
  await buildHarness()
  const relay = await startRelay({ RELAY_STATIC_DIR: harnessDirectory })
  const browser = await launchMeasuringChromium()
  try {
    console.log(`\n# micronets bench — ${cpus().length} cores, Chromium ${browser.version()}, onnxruntime-web ${ortVersion()}`)
    let base: RoutingRun | null = null
    await section('latency', async () => {
      base = await routingRun(browser, relay, defaultSettings)
      latencySection(base)
    })
    await section('simd and threads', async () => {
      if (!base) throw new Error('no default run to compare with')
      await simdThreadsSection(browser, relay, base)
    })
    await section('bytes', () => bytesSection(browser, relay))
    await section('memory', () => memorySection(browser, relay))
  } finally {
    await browser.close()
    await relay.stop()
  }
}

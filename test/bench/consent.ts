// What a fresh profile downloads before the user agrees to a model: it must be the app shell
// only. Summed from the Resource Timing entries of the page, its dedicated workers and the
// service worker (whose precache fetches the shell a second time), each entry's transferSize.
import { chromium, type BrowserContext, type Page } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { appPath, freshRoom, readyNodeId } from '../e2e/support/nodes'
import { startRelay } from './relay-process'
import { fmt, table } from './stats'

interface Fetched {
  url: string
  bytes: number
  from: string
}

/** Time for anything eager (the service worker's precache, a worker's start) to run after the page is ready. */
const settleMs = 3_000

function isModelFile(url: string): boolean {
  const { hostname, pathname } = new URL(url)
  return pathname.startsWith('/models/') || pathname.endsWith('.gguf') || hostname === 'huggingface.co' || pathname.includes('/mlc-ai/')
}

const readEntries = (): { url: string; bytes: number }[] =>
  [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].map((entry) => ({ url: entry.name, bytes: (entry as PerformanceResourceTiming).transferSize }))

async function fetchedBy(page: Page, context: BrowserContext): Promise<Fetched[]> {
  const lists: Fetched[][] = [(await page.evaluate(readEntries)).map((entry) => ({ ...entry, from: 'page' }))]
  for (const worker of page.workers()) lists.push((await worker.evaluate(readEntries).catch(() => [])).map((entry) => ({ ...entry, from: 'worker' })))
  for (const worker of context.serviceWorkers()) lists.push((await worker.evaluate(readEntries).catch(() => [])).map((entry) => ({ ...entry, from: 'service worker' })))
  return lists.flat()
}

export async function benchConsent(): Promise<void> {
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: 'test/fixtures' })
  const browser = await chromium.launch(chromiumLaunchOptions())
  try {
    const rows: string[][] = []
    const biggest: string[][] = []
    for (const [label, params] of [
      ['fresh profile, plain link', {}],
      ['fresh profile, link with model=', { engine: 'wasm', model: '/models/bench-qwen3.gguf' }],
    ] as const) {
      const context = await browser.newContext({ baseURL: relay.url })
      const page = await context.newPage()
      await page.goto(appPath(freshRoom('bench-consent'), params))
      await readyNodeId(page)
      await page.getByTestId('model-download').waitFor()
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 }).catch(() => undefined)
      await page.waitForTimeout(settleMs)
      const fetched = await fetchedBy(page, context)
      await context.close()
      const total = fetched.reduce((sum, entry) => sum + entry.bytes, 0)
      const models = fetched.filter((entry) => isModelFile(entry.url)).reduce((sum, entry) => sum + entry.bytes, 0)
      rows.push([label, String(fetched.length), fmt(total / 1024 / 1024, 2), String(models)])
      for (const entry of [...fetched].sort((a, b) => b.bytes - a.bytes).slice(0, 6)) biggest.push([label, entry.from, new URL(entry.url).pathname.slice(0, 60), fmt(entry.bytes / 1024, 0)])
    }
    table('Bytes downloaded before the user agrees to a model (page + workers + service worker, Resource Timing transferSize)', ['case', 'requests', 'MB', 'model-file bytes'], rows)
    table('The biggest of them', ['case', 'fetched by', 'path', 'KB'], biggest)
  } finally {
    await browser.close()
    await relay.stop()
  }
}

import { expect, test, type BrowserContext, type Page } from '@playwright/test'
import { e2ePort } from '../../playwright.config'
import { expectEngineState, tinyModel } from './support/chat'
import { agreeToDownload, appPath, freshRoom, readyNodeId } from './support/nodes'
import { startSlowProxy, type SlowProxy } from './support/slow-proxy'

const benchModel = '/models/bench-qwen3.gguf'
const segmentBytes = 16 * 1024 * 1024
function isModelFile(url: string): boolean {
  const { hostname, pathname } = new URL(url)
  return pathname.startsWith('/models/') || pathname.endsWith('.gguf') || hostname === 'huggingface.co' || pathname.includes('/mlc-ai/')
}

/** Every URL this context asks for: its pages, their workers and (read from inside) the service worker. */
function recordRequests(context: BrowserContext): string[] {
  const urls: string[] = []
  context.on('request', (request) => urls.push(request.url()))
  return urls
}

async function serviceWorkerFetches(context: BrowserContext): Promise<string[]> {
  const lists = await Promise.all(context.serviceWorkers().map((worker) => worker.evaluate(() => performance.getEntriesByType('resource').map((entry) => entry.name))))
  return lists.flat()
}

/** The model folders the resumable downloader keeps in OPFS, each with its file names. */
function opfsModels(page: Page): Promise<string[][]> {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory()
    let models: FileSystemDirectoryHandle
    try {
      models = await root.getDirectoryHandle('edgeswarm-models')
    } catch {
      return []
    }
    const folders: string[][] = []
    for await (const [, handle] of models.entries()) {
      if (handle.kind !== 'directory') continue
      const names: string[] = []
      for await (const name of handle.keys()) names.push(name)
      folders.push(names.sort())
    }
    return folders
  })
}

async function open(page: Page, path: string): Promise<void> {
  await page.goto(path)
  await readyNodeId(page)
}

test('a fresh profile asks before any model file is fetched, showing size, memory need and fit; Download starts it; the agreement is remembered', async ({ browser }) => {
  const context = await browser.newContext()
  const urls = recordRequests(context)
  const page = await context.newPage()
  try {
    const path = appPath(freshRoom('consent'), { engine: 'wasm', model: tinyModel })
    await open(page, path)
    await expect(page.getByTestId('model-download')).toBeVisible()
    await expect(page.getByTestId('model-details')).toContainText('tiny-qwen3')
    await expect(page.getByTestId('model-details')).toContainText('size not known before the download starts')
    // The catalog is offered with sizes and whether this device can run each.
    const options = await page.getByTestId('model-picker').locator('option').allTextContents()
    expect(options.some((text) => /Qwen3-1\.7B Q4_K_M · WASM · 1\.0 GB/.test(text))).toBe(true)
    expect(options.some((text) => /Qwen3-4B q4f16 · WebGPU/.test(text))).toBe(true)
    await expectEngineState(page, 'offer')
    // Give anything eager its chance (the service worker's precache included) before looking.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 })
    await page.waitForTimeout(1_000)
    expect(urls.filter(isModelFile)).toEqual([])
    expect((await serviceWorkerFetches(context)).filter(isModelFile)).toEqual([])

    const fetched = page.waitForRequest((request) => request.url().endsWith(tinyModel))
    await agreeToDownload(page)
    await fetched
    await expectEngineState(page, 'ready')

    // Agreed before: a reload loads the (cached) model without asking.
    await page.reload()
    await readyNodeId(page)
    await expectEngineState(page, 'ready')
    await expect(page.getByTestId('model-download')).toBeHidden()
  } finally {
    await context.close()
  }
})

test('the model picked is remembered across a reload, and picking is no agreement', async ({ browser }) => {
  const context = await browser.newContext()
  const urls = recordRequests(context)
  const page = await context.newPage()
  try {
    await open(page, appPath(freshRoom('consent-pick'), { engine: 'wasm' }))
    // The recommendation for a CPU: the 1.7B with four cores or more, else the 0.6B.
    await expect(page.getByTestId('model-picker')).toHaveValue(/^Qwen3-(1\.7B|0\.6B)-Q4_K_M$/)
    await page.getByTestId('model-picker').selectOption('Qwen3-0.6B-Q8_0')
    await expect(page.getByTestId('model-details')).toContainText('Qwen3-0.6B Q8_0 (WASM): 610 MB download')
    await page.reload()
    await readyNodeId(page)
    await expect(page.getByTestId('model-picker')).toHaveValue('Qwen3-0.6B-Q8_0')
    await expectEngineState(page, 'offer')
    expect(urls.filter(isModelFile)).toEqual([])
  } finally {
    await context.close()
  }
})

test.describe('pause, resume and cancel', () => {
  let proxy: SlowProxy | undefined

  test.afterEach(async () => {
    await proxy?.close()
    proxy = undefined
  })

  test('a paused download resumes after a reload with a Range from where it stopped; cancel deletes the partial file', async ({ browser }) => {
    // 12 MB/s: the 120 MB bench model takes ten seconds, long enough to pause after a segment or two.
    proxy = await startSlowProxy(e2ePort, (path) => path.startsWith(benchModel), 12 * 1024 * 1024)
    const context = await browser.newContext()
    const page = await context.newPage()
    const ranges: string[] = []
    context.on('request', (request) => {
      if (request.url().endsWith(benchModel)) ranges.push(request.headers().range ?? 'none')
    })
    try {
      const path = `${proxy.baseUrl}${appPath(freshRoom('consent-pause'), { engine: 'wasm', model: benchModel })}`
      await open(page, path)
      await agreeToDownload(page)
      await expectEngineState(page, 'downloading')
      await expect(page.getByTestId('download-figures')).toContainText(/MB\/s · .* left/)
      await expect.poll(() => page.getByTestId('download-progress').evaluate((bar) => (bar as HTMLProgressElement).value), { timeout: 30_000 }).toBeGreaterThan(0.3)
      await page.getByTestId('download-pause').click()
      await expectEngineState(page, 'paused')
      await expect(page.getByTestId('download-figures')).toContainText('paused')
      expect(ranges).toEqual(['none'])
      const kept = await opfsModels(page)
      expect(kept).toHaveLength(1)
      expect(kept[0]).toContain('seg-0')

      // Paused stays paused across a reload; Resume continues with a Range from the kept segments.
      await page.reload()
      await readyNodeId(page)
      await expectEngineState(page, 'paused')
      const resumed = page.waitForRequest((request) => request.url().endsWith(benchModel))
      await page.getByTestId('download-resume').click()
      const range = (await resumed).headers().range ?? ''
      const from = Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? -1)
      expect(from).toBeGreaterThanOrEqual(2 * segmentBytes)
      expect(from % segmentBytes).toBe(0)
      await expectEngineState(page, 'downloading')

      await page.getByTestId('download-cancel').click()
      await expectEngineState(page, 'offer')
      await expect.poll(() => opfsModels(page)).toEqual([])
      await expect(page.getByTestId('model-download')).toBeVisible()
    } finally {
      await context.close()
    }
  })
})

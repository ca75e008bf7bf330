import { expect, test, type Page } from '@playwright/test'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { harnessURL } from '../../playwright.config'
import { expectEngineState } from './support/chat'
import { startModelServer, tampered, type ModelServer } from './support/model-server'
import { appPath, freshRoom, readyNodeId } from './support/nodes'

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const sri = (bytes: Uint8Array): string => `sha256-${createHash('sha256').update(bytes).digest('base64')}`
const tinyBytes = new Uint8Array(readFileSync('test/fixtures/tiny-qwen3.gguf'))
const benchModel = '/models/bench-qwen3.gguf'
const benchSha = sha256(new Uint8Array(readFileSync('test/fixtures/bench-qwen3.gguf')))
const segmentBytes = 16 * 1024 * 1024

/** The model folders the resumable downloader keeps in OPFS, each with its file names and its meta.json. */
function opfsModels(page: Page): Promise<{ names: string[]; meta: string }[]> {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory()
    let models: FileSystemDirectoryHandle
    try {
      models = await root.getDirectoryHandle('edgeswarm-models')
    } catch {
      return []
    }
    const folders: { names: string[]; meta: string }[] = []
    for await (const [, handle] of models.entries()) {
      if (handle.kind !== 'directory') continue
      const folder = handle
      const names: string[] = []
      for await (const name of folder.keys()) names.push(name)
      const meta = names.includes('meta.json') ? await (await (await folder.getFileHandle('meta.json')).getFile()).text() : ''
      folders.push({ names: names.sort(), meta })
    }
    return folders
  })
}

async function serviceWorkerFetches(page: Page): Promise<string[]> {
  const lists = await Promise.all(
    page
      .context()
      .serviceWorkers()
      .map((worker) => worker.evaluate(() => performance.getEntriesByType('resource').map((entry) => entry.name))),
  )
  return lists.flat()
}

test.describe('a ?model= from another origin', () => {
  let server: ModelServer | undefined
  test.afterEach(async () => {
    await server?.close()
    server = undefined
  })

  test('asks first, naming the origin, the URL and that the size is unknown; nothing is fetched before Accept; Accept loads it, checked against the link’s sha256', async ({ page }) => {
    server = await startModelServer({ '/m/tiny-qwen3.gguf': tinyBytes })
    const url = `${server.baseUrl}/m/tiny-qwen3.gguf`
    const asked: string[] = []
    page.context().on('request', (request) => asked.push(request.url()))
    await page.goto(appPath(freshRoom('foreign-model'), { engine: 'wasm', model: url, sha256: sha256(tinyBytes) }))
    await readyNodeId(page)
    const prompt = page.getByTestId('link-prompt')
    await expect(prompt).toBeVisible()
    await expect(prompt).toContainText(`another site, ${server.baseUrl}`)
    await expect(prompt).toContainText(url)
    await expect(prompt).toContainText('size not known')
    await expect(page.getByTestId('model-download')).toBeHidden()
    await expectEngineState(page, 'offer')
    // Give anything eager its chance (the service worker's precache included) before looking.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 })
    await page.waitForTimeout(1_000)
    expect(server.requests).toEqual([])
    expect(asked.filter((seen) => seen.startsWith(server?.baseUrl ?? '-'))).toEqual([])
    expect((await serviceWorkerFetches(page)).filter((seen) => seen.startsWith(server?.baseUrl ?? '-'))).toEqual([])
    expect(await page.evaluate((origin) => performance.getEntriesByType('resource').filter((entry) => entry.name.startsWith(origin)).length, server.baseUrl)).toBe(0)

    await page.getByTestId('link-accept').click()
    await expectEngineState(page, 'ready')
    expect(server.requests).toContain('GET /m/tiny-qwen3.gguf')
    await expect(prompt).toBeHidden()
  })

  test('Decline fetches nothing and offers the catalog’s model instead', async ({ page }) => {
    server = await startModelServer({ '/m/tiny-qwen3.gguf': tinyBytes })
    await page.goto(appPath(freshRoom('foreign-decline'), { engine: 'wasm', model: `${server.baseUrl}/m/tiny-qwen3.gguf` }))
    await readyNodeId(page)
    await page.getByTestId('link-decline').click()
    await expect(page.getByTestId('link-prompt')).toBeHidden()
    await expect(page.getByTestId('model-download')).toBeVisible()
    await expect(page.getByTestId('model-picker')).toHaveValue(/^Qwen3-/)
    await expectEngineState(page, 'offer')
    await page.waitForTimeout(500)
    expect(server.requests).toEqual([])
  })

  test('a tampered GGUF (one byte changed) fails the hash check: it is deleted from OPFS and the user is told', async ({ page }) => {
    server = await startModelServer({ '/m/tiny-qwen3.gguf': tampered(tinyBytes) })
    await page.goto(appPath(freshRoom('foreign-tampered'), { engine: 'wasm', model: `${server.baseUrl}/m/tiny-qwen3.gguf`, sha256: sha256(tinyBytes) }))
    await readyNodeId(page)
    await page.getByTestId('link-accept').click()
    await expectEngineState(page, 'failed')
    await expect(page.getByTestId('engine-message')).toContainText('the download of tiny-qwen3.gguf did not match its published hash; it was deleted — try again')
    expect(server.requests).toContain('GET /m/tiny-qwen3.gguf')
    expect(await opfsModels(page)).toEqual([])
  })
})

test.describe('the resumable downloader checks what it kept', () => {
  async function openHarness(page: Page): Promise<void> {
    await page.goto(`${harnessURL}/`)
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
  }
  const pinned = [{ sha256: benchSha, bytes: readFileSync('test/fixtures/bench-qwen3.gguf').byteLength }]

  test('a download resumed after a reload still verifies: from the hash state kept with the segments, and from the kept segments when that state is gone', async ({ page }) => {
    const ranges: string[] = []
    page.on('request', (request) => {
      if (request.url().endsWith(benchModel)) ranges.push(request.headers().range ?? 'none')
    })
    await openHarness(page)
    await page.evaluate(() => globalThis.harness.deleteDownloads())
    const first = await page.evaluate(([url, pins]) => globalThis.harness.download(url, 40 * 1024 * 1024, pins), [benchModel, pinned] as const)
    expect(first.error).toMatch(/^AbortError/)
    const [kept] = await opfsModels(page)
    const state = JSON.parse(kept?.meta ?? '{}') as { hash?: { bytes: number } }
    // The saved state covers exactly the segments written whole.
    const segments = kept?.names.filter((name) => name.startsWith('seg-')).length ?? 0
    expect(segments).toBeGreaterThanOrEqual(2)
    expect(state.hash?.bytes).toBe(segments * segmentBytes)

    await page.reload()
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    const second = await page.evaluate(([url, pins]) => globalThis.harness.download(url, 80 * 1024 * 1024, pins), [benchModel, pinned] as const)
    expect(second.error).toMatch(/^AbortError/)
    // Lose the saved state: the next resume hashes the kept segments again.
    await page.evaluate(async () => {
      const models = await (await navigator.storage.getDirectory()).getDirectoryHandle('edgeswarm-models')
      for await (const [, handle] of models.entries()) {
        if (handle.kind !== 'directory') continue
        const file = await handle.getFileHandle('meta.json')
        const { hash: _dropped, ...meta } = JSON.parse(await (await file.getFile()).text()) as Record<string, unknown>
        const writable = await file.createWritable()
        await writable.write(JSON.stringify(meta))
        await writable.close()
      }
    })
    await page.reload()
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    const done = await page.evaluate(([url, pins]) => globalThis.harness.download(url, Number.POSITIVE_INFINITY, pins), [benchModel, pinned] as const)
    expect(done.error).toBeNull()
    expect(done.sha256).toBe(benchSha)
    expect(ranges).toHaveLength(3)
    expect(ranges[0]).toBe('none')
    expect(Number(/bytes=(\d+)-/.exec(ranges[2] ?? '')?.[1])).toBeGreaterThanOrEqual(4 * segmentBytes)
    const [complete] = await opfsModels(page)
    expect(JSON.parse(complete?.meta ?? '{}')).toMatchObject({ complete: true, sha256: benchSha })
    await page.evaluate(() => globalThis.harness.deleteDownloads())
  })

  test('a kept segment changed on disk is caught when the download resumes, and the whole part is deleted', async ({ page }) => {
    await openHarness(page)
    await page.evaluate(() => globalThis.harness.deleteDownloads())
    const first = await page.evaluate(([url, pins]) => globalThis.harness.download(url, 40 * 1024 * 1024, pins), [benchModel, pinned] as const)
    expect(first.error).toMatch(/^AbortError/)
    // One byte of the first kept segment flipped, and the saved hash state dropped with it.
    await page.evaluate(async () => {
      const models = await (await navigator.storage.getDirectory()).getDirectoryHandle('edgeswarm-models')
      for await (const [, handle] of models.entries()) {
        if (handle.kind !== 'directory') continue
        const folder = handle
        const segment = await folder.getFileHandle('seg-0')
        const bytes = new Uint8Array(await (await segment.getFile()).arrayBuffer())
        bytes[1000] = (bytes[1000] ?? 0) ^ 0xff
        const writable = await segment.createWritable()
        await writable.write(bytes)
        await writable.close()
        const metaFile = await folder.getFileHandle('meta.json')
        const { hash: _dropped, ...meta } = JSON.parse(await (await metaFile.getFile()).text()) as Record<string, unknown>
        const metaWritable = await metaFile.createWritable()
        await metaWritable.write(JSON.stringify(meta))
        await metaWritable.close()
      }
    })
    const resumed = await page.evaluate(([url, pins]) => globalThis.harness.download(url, Number.POSITIVE_INFINITY, pins), [benchModel, pinned] as const)
    expect(resumed.error).toMatch(/^ModelIntegrityError: the download of bench-qwen3\.gguf did not match its published hash; it was deleted — try again/)
    expect(await opfsModels(page)).toEqual([])
  })

  test('a size other than the published one is refused before the download, and nothing is kept', async ({ page }) => {
    await openHarness(page)
    await page.evaluate(() => globalThis.harness.deleteDownloads())
    const wrongSize = [{ sha256: benchSha, bytes: (pinned[0]?.bytes ?? 0) + 1 }]
    const result = await page.evaluate(([url, pins]) => globalThis.harness.download(url, Number.POSITIVE_INFINITY, pins), [benchModel, wrongSize] as const)
    expect(result.error).toMatch(/^ModelIntegrityError: the download of bench-qwen3\.gguf is \d+ bytes where \d+ were published; it was deleted/)
    expect(result.progress).toEqual([])
    expect(await opfsModels(page)).toEqual([])
  })
})

test.describe('WebLLM through our app config', () => {
  let server: ModelServer | undefined
  test.afterEach(async () => {
    await server?.close()
    server = undefined
  })

  const config = new TextEncoder().encode(JSON.stringify({ model_type: 'qwen3', tokenizer_files: ['tokenizer.json'], conv_template: { name: 'qwen2' } }))
  // A module that is valid wasm and no model library: WebLLM gets past its checks and fails in TVM.
  const library = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])
  const revision = '0123456789abcdef0123456789abcdef01234567'
  const entry = (base: string, integrity: { config?: string; model_lib?: string }) => ({
    needs: { modelId: 'Test-q4f32_1-MLC', label: 'Test', vramRequiredMb: 1, lowResourceRequired: true, bufferSizeRequiredBytes: 0, requiredFeatures: [], contextWindowSize: 0 },
    webllm: { model: `${base}/mlc/Test-q4f32_1-MLC/resolve/${revision}/`, modelLib: `${base}/mlc/Test-q4f32_1_cs1k-webgpu.wasm`, integrity },
  })

  test('a config or model library that is not the published one refuses to load, names the file and is not kept in the cache; the right ones pass both checks', async ({ page }) => {
    server = await startModelServer({ [`/mlc/Test-q4f32_1-MLC/resolve/${revision}/mlc-chat-config.json`]: config, '/mlc/Test-q4f32_1_cs1k-webgpu.wasm': library })
    const base = server.baseUrl
    await page.goto(`${harnessURL}/`)
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    const configUrl = `${base}/mlc/Test-q4f32_1-MLC/resolve/${revision}/mlc-chat-config.json`
    const libraryUrl = `${base}/mlc/Test-q4f32_1_cs1k-webgpu.wasm`

    const badConfig = await page.evaluate((record) => globalThis.harness.webllmLoad(record), entry(base, { config: sri(tampered(config)), model_lib: sri(library) }))
    expect(badConfig.error).toMatch(/^ModelIntegrityError: the download of mlc-chat-config\.json did not match its published hash; it was deleted — try again/)
    expect(badConfig.cached).not.toContain(configUrl)
    expect(server.requests).not.toContain('GET /mlc/Test-q4f32_1_cs1k-webgpu.wasm')

    const badLibrary = await page.evaluate((record) => globalThis.harness.webllmLoad(record), entry(base, { config: sri(config), model_lib: sri(tampered(library, 7)) }))
    expect(badLibrary.error).toMatch(/^ModelIntegrityError: the download of Test-q4f32_1_cs1k-webgpu\.wasm did not match its published hash/)
    expect(badLibrary.cached).toContain(configUrl)
    expect(badLibrary.cached).not.toContain(libraryUrl)

    const good = await page.evaluate((record) => globalThis.harness.webllmLoad(record), entry(base, { config: sri(config), model_lib: sri(library) }))
    expect(good.error).not.toBeNull()
    expect(good.error).not.toMatch(/ModelIntegrityError/)
    expect(good.cached).toContain(libraryUrl)
  })
})

test('the embedding model’s download is checked too: a hash that does not match turns memory search off with the message and deletes the file; the right one turns it on', async ({ browser }) => {
  const embedding = new Uint8Array(readFileSync('test/fixtures/tiny-embedding.gguf'))
  for (const [expected, works] of [
    [sha256(tampered(embedding)), false],
    [sha256(embedding), true],
  ] as const) {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(appPath(freshRoom('verified-embedding'), { engine: 'none', embedModel: '/models/tiny-embedding.gguf', embedSha256: expected }))
      await readyNodeId(page)
      await page.getByTestId('memory-search-toggle').check()
      await page.getByTestId('memory-search-accept').click()
      const phase = works ? 'on' : 'failed'
      await page.waitForFunction((wanted) => globalThis.edgeswarm?.memory.semantic.state().phase === wanted, phase, { timeout: 60_000 })
      const state = await page.evaluate(() => globalThis.edgeswarm?.memory.semantic.state())
      const kept = await opfsModels(page)
      if (works) {
        expect(JSON.parse(kept[0]?.meta ?? '{}')).toMatchObject({ complete: true, sha256: expected })
      } else {
        expect(state?.phase === 'failed' ? state.error : '').toContain('the download of tiny-embedding.gguf did not match its published hash; it was deleted — try again')
        expect(kept).toEqual([])
      }
    } finally {
      await context.close()
    }
  }
})

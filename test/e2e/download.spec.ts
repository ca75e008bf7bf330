import { expect, test } from '@playwright/test'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { harnessURL } from '../../playwright.config'

const benchModel = '/models/bench-qwen3.gguf'
const expectedSha = createHash('sha256').update(readFileSync('test/fixtures/bench-qwen3.gguf')).digest('hex')

test('a model download survives a reload: it resumes with a Range request where it stopped, and then works offline', async ({ page, context }) => {
  const ranges: string[] = []
  page.on('request', (request) => {
    const range = request.headers().range
    if (request.url().endsWith(benchModel) && range) ranges.push(range)
  })
  await page.goto(`${harnessURL}/`)
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
  await page.evaluate(() => globalThis.harness.deleteDownloads())

  const stopped = await page.evaluate((url) => globalThis.harness.download(url, 40 * 1024 * 1024), benchModel)
  expect(stopped.error).toMatch(/^AbortError/)
  expect(ranges).toEqual([])

  await page.reload()
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
  const resumed = await page.evaluate((url) => globalThis.harness.download(url), benchModel)
  expect(resumed.error).toBeNull()
  expect(resumed.sha256).toBe(expectedSha)
  expect(ranges).toHaveLength(1)
  const resumedFrom = Number(/bytes=(\d+)-/.exec(ranges[0] ?? '')?.[1])
  expect(resumedFrom).toBeGreaterThanOrEqual(32 * 1024 * 1024)
  expect(resumed.progress[0]?.loadedBytes).toBeGreaterThanOrEqual(resumedFrom)

  await context.setOffline(true)
  const offline = await page.evaluate((url) => globalThis.harness.download(url), benchModel)
  expect(offline.error).toBeNull()
  expect(offline.sha256).toBe(expectedSha)
  await context.setOffline(false)
  await page.evaluate(() => globalThis.harness.deleteDownloads())
})

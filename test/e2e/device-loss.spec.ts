// WebGPU device loss, on this browser's real adapter (SwiftShader): the watcher that WebLLM's
// worker runs (device-watch.ts) tells the page when a device is lost under it, and says nothing
// when WebLLM ended the device itself (its unload). The engine's and the node's reaction (unload,
// load again, re-advertise) is in test/unit/engine-contract-webgpu.test.ts and local-engine.ts.
import { expect, test } from '@playwright/test'
import { harnessURL } from '../../playwright.config'

test.beforeEach(async ({ page }) => {
  await page.goto(`${harnessURL}/`)
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
})

test('a device destroyed under the worker is reported to the page, with its reason', async ({ page }) => {
  const result = await page.evaluate(() => globalThis.harness.loseDeviceInWorker(false, 10_000))
  expect(result.device).toBe(true)
  expect(result.loss).toMatchObject({ reason: 'destroyed' })
})

test('a device WebLLM ends itself (its unload) is not reported as a loss', async ({ page }) => {
  const result = await page.evaluate(() => globalThis.harness.loseDeviceInWorker(true, 1_500))
  expect(result.device).toBe(true)
  expect(result.loss).toBeNull()
})

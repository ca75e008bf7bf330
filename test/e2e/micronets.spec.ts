import { expect, test, type Page } from '@playwright/test'
import { harnessURL } from '../../playwright.config'

async function openHarness(page: Page): Promise<void> {
  await page.goto(`${harnessURL}/`)
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
}

test('ONNX round trip: nets run by onnxruntime-web in the worker pool equal the TypeScript forward pass within 1e-5', async ({ page }) => {
  await openHarness(page)
  for (const threads of [1, 2]) {
    const result = await page.evaluate((count) => globalThis.micronets.roundTrip(count), threads)
    console.log(`round trip: ${result.values} values, max |Δ| ${result.maxAbsDiff.toExponential(2)}, ${result.threads} thread(s), crossOriginIsolated ${result.crossOriginIsolated}`)
    expect(result.values).toBeGreaterThan(100)
    expect(result.maxAbsDiff).toBeLessThan(1e-5)
    // The harness is served cross-origin isolated, so ort may run its threaded build.
    expect(result.crossOriginIsolated).toBe(true)
    expect(result.threads).toBe(threads)
  }
})

test('the worker pool makes 1000 router decisions in a row on one warm session, with steady memory', async ({ page }) => {
  await openHarness(page)
  const { routes, before, after, memoryBefore, memoryAfter } = await page.evaluate(() => globalThis.micronets.decisions(1000))
  console.log(`routes ${JSON.stringify(routes)}; page with workers ${memoryBefore} → ${memoryAfter} bytes`)
  expect(routes.local + routes.swarm + routes.relay).toBe(1100)
  expect(routes.local).toBeGreaterThan(0)
  expect(routes.local).toBeLessThan(1100)
  expect(after.runs - before.runs).toBe(1000)
  // One session, created once and reused for every decision.
  expect(after.created).toBe(1)
  expect(after.sessions).toEqual(['router'])
  // performance.measureUserAgentSpecificMemory: the page and its workers, wasm memory included.
  expect(memoryBefore).not.toBeNull()
  expect(memoryAfter).not.toBeNull()
  expect((memoryAfter ?? 0) - (memoryBefore ?? 0)).toBeLessThan(8 * 1024 * 1024)
})

test('disposal frees sessions: an LRU cap bounds them, dispose releases every one, and cycles leave no growth', async ({ page }) => {
  await openHarness(page)
  const { peakSessions, afterDispose, memoryAfterFirstCycle, memoryAfterLastCycle } = await page.evaluate(() => globalThis.micronets.disposal(12, 4, 10))
  console.log(`peak sessions ${peakSessions}; created ${afterDispose.created}, released ${afterDispose.released}; page with workers ${memoryAfterFirstCycle} → ${memoryAfterLastCycle} bytes`)
  expect(peakSessions).toBe(4)
  expect(afterDispose.sessions).toEqual([])
  expect(afterDispose.created).toBe(120)
  expect(afterDispose.released).toBe(120)
  expect(memoryAfterFirstCycle).not.toBeNull()
  expect(memoryAfterLastCycle).not.toBeNull()
  expect((memoryAfterLastCycle ?? 0) - (memoryAfterFirstCycle ?? 0)).toBeLessThan(8 * 1024 * 1024)
})

import { expect, test } from '@playwright/test'
import { expectMemory, freshRoom, openNode, readyNodeId } from './support/nodes'

test('after one online visit, the app and its local memory load offline', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('offline'))
  try {
    await a.page.evaluate(() => globalThis.edgeswarm?.memory.add('remembered offline'))
    await a.page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 })
    await a.context.setOffline(true)
    await a.page.reload()
    expect(await readyNodeId(a.page)).toBe(a.nodeId)
    await expectMemory(a.page, ['remembered offline'])
    await expect(a.page.getByTestId('network')).toContainText('offline')
    expect(await a.page.evaluate(() => crossOriginIsolated)).toBe(true)
    // The micro-net runtime (worker, ort's wasm and its loader) comes from the cache too.
    const decision = await a.page.evaluate(() => globalThis.edgeswarm?.router.decide({ messages: [{ role: 'user', content: 'hi' }] }))
    expect(decision?.runtime).toBe('worker')
  } finally {
    await a.context.close()
  }
})

test('the page is cross-origin isolated and installable', async ({ page, request }) => {
  await page.goto('/?room=isolation')
  await readyNodeId(page)
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true)
  const manifest = (await (await request.get('/manifest.webmanifest')).json()) as { icons: { sizes: string }[]; display: string }
  expect(manifest.display).toBe('standalone')
  expect(manifest.icons.map((icon) => icon.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']))
})

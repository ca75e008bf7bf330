import { expect, test } from '@playwright/test'
import { freshRoom, openNode, openStockPage } from './support/nodes'

test('a stock y-webrtc page with the room key reads what the app wrote; its forgeries show as untrusted', async ({ browser, baseURL }) => {
  const room = freshRoom('stock')
  const a = await openNode(browser, room)
  const stock = await openStockPage(browser)
  try {
    await a.page.evaluate(async () => {
      await globalThis.edgeswarm?.memory.add('stock-marker one', ['interop'])
      await globalThis.edgeswarm?.memory.add('stock-marker two')
    })
    const signalingUrl = (baseURL ?? '').replace(/^http/, 'ws') + '/signal'
    await stock.page.evaluate(({ room, key, signalingUrl }) => globalThis.stock.start(room, key, signalingUrl), { room: room.room, key: room.key, signalingUrl })
    await stock.page.evaluate(() => globalThis.stock.waitFor('stock-marker', 2))
    const entries = Object.values(await stock.page.evaluate(() => globalThis.stock.memory())) as Record<string, unknown>[]
    expect(entries.map((entry) => entry.text).sort()).toEqual(['stock-marker one', 'stock-marker two'])
    for (const entry of entries) expect(entry).toMatchObject({ v: 1, author: a.nodeId, sig: expect.any(String) })

    await stock.page.evaluate(() => {
      const [id, entry] = Object.entries(globalThis.stock.memory())[0] ?? []
      if (!id || typeof entry !== 'object') throw new Error('no entry to forge')
      globalThis.stock.set(id, { ...entry, text: 'forged by a stock client' })
      globalThis.stock.set('junk', { text: 'not signed at all' })
    })
    const forged = a.page.getByTestId('memory-item').filter({ hasText: 'forged by a stock client' })
    await expect(forged).toHaveAttribute('data-trust', 'bad-signature')
    await expect(forged.getByTestId('memory-untrusted')).toBeVisible()
    await expect(a.page.getByTestId('memory-item').filter({ hasText: 'not signed at all' })).toHaveAttribute('data-trust', 'malformed')
    const trusted = await a.page.evaluate(async () => (await globalThis.edgeswarm?.memory.list())?.filter((entry) => entry.trust === 'trusted').map((entry) => entry.text))
    expect(trusted).toHaveLength(1)
  } finally {
    await stock.close()
    await a.context.close()
  }
})

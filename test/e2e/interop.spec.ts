import { expect, test, type Page } from '@playwright/test'
import { freshRoom, openNode, openStockPage } from './support/nodes'

type Listed = { id: string; text: string; author: string; trust: string }
const listed = (page: Page): Promise<Listed[]> => page.evaluate(async () => (await globalThis.edgeswarm?.memory.list()) ?? [])
const textsOf = async (page: Page, trust = 'trusted'): Promise<string[]> =>
  (await listed(page))
    .filter((item) => item.trust === trust)
    .map((item) => item.text)
    .sort()

test('a stock y-webrtc page reads and writes the public memory contract; its forgeries, replays, deletions and copies from another room are refused and undone', async ({ browser, baseURL }) => {
  test.setTimeout(90_000)
  const room = freshRoom('stock')
  const a = await openNode(browser, room)
  const stock = await openStockPage(browser)
  try {
    const [one] = await a.page.evaluate(async () => [await globalThis.edgeswarm?.memory.add('stock-marker one', ['interop']), await globalThis.edgeswarm?.memory.add('stock-marker two')])
    if (!one) throw new Error('no id')
    const signalingUrl = (baseURL ?? '').replace(/^http/, 'ws') + '/signal'
    await stock.page.evaluate(({ room, key, signalingUrl }) => globalThis.stock.start(room, key, signalingUrl), { room: room.room, key: room.key, signalingUrl })
    await stock.page.evaluate(() => globalThis.stock.waitFor('stock-marker', 2))

    // Reading: v2 entries under ids of their author, signed for the room id the README defines.
    const roomId = await stock.page.evaluate(() => globalThis.stock.roomId())
    const entries = await stock.page.evaluate(() => globalThis.stock.memory())
    expect(
      Object.values(entries)
        .map((entry) => (entry as { text: string }).text)
        .sort(),
    ).toEqual(['stock-marker one', 'stock-marker two'])
    for (const [id, entry] of Object.entries(entries)) {
      expect(id.startsWith(`${a.nodeId}/`)).toBe(true)
      expect(entry).toMatchObject({ v: 2, room: roomId, author: a.nodeId, sig: expect.any(String) })
    }

    // Writing: an entry signed by the contract with the stock page's own key is trusted, under its author.
    const stockAuthor = await stock.page.evaluate(() => globalThis.stock.author())
    const written = await stock.page.evaluate(() => globalThis.stock.writeMemory('written by a stock client', ['interop']))
    await expect(a.page.getByTestId('memory-item').filter({ hasText: 'written by a stock client' })).toHaveAttribute('data-trust', 'trusted')
    expect((await listed(a.page)).find((item) => item.id === written)).toMatchObject({ author: stockAuthor, trust: 'trusted' })

    // A forged new value is shown flagged; a value nobody signed, as malformed.
    await stock.page.evaluate(() => {
      globalThis.stock.set('junk', { text: 'not signed at all' })
    })
    await expect(a.page.getByTestId('memory-item').filter({ hasText: 'not signed at all' })).toHaveAttribute('data-trust', 'malformed')
    // An entry copied from the room of the same name with another key is not this room's.
    await stock.page.evaluate(() => globalThis.stock.writeMemory('said in another room', [], 'f'.repeat(32)))
    const copied = a.page.getByTestId('memory-item').filter({ hasText: 'said in another room' })
    await expect(copied).toHaveAttribute('data-trust', 'bad-signature')
    await expect(copied.getByTestId('memory-untrusted')).toBeVisible()

    // Overwriting A's entry with forged text, deleting it, or a tombstone by another key: A's readers put it back.
    const original = await stock.page.evaluate((id) => globalThis.stock.memory()[id], one)
    const backInStock = (): Promise<unknown> => stock.page.evaluate((id) => globalThis.stock.memory()[id], one)
    await stock.page.evaluate(({ id, entry }) => globalThis.stock.set(id, { ...(entry as object), text: 'forged by a stock client' }), { id: one, entry: original })
    await expect.poll(backInStock, { timeout: 15_000 }).toEqual(original)
    await stock.page.evaluate((id) => globalThis.stock.delete(id), one)
    await expect.poll(backInStock, { timeout: 15_000 }).toEqual(original)
    await stock.page.evaluate((id) => globalThis.stock.forgeTombstone(id), one)
    await expect.poll(backInStock, { timeout: 15_000 }).toEqual(original)
    expect(await textsOf(a.page)).toEqual(['stock-marker one', 'stock-marker two', 'written by a stock client'])
    await expect(a.page.getByTestId('memory-list')).not.toContainText('forged by a stock client')

    // A replay: the old signed version written again after A's edit is refused, and the edit goes back in.
    await a.page.evaluate((id) => globalThis.edgeswarm?.memory.update(id, 'stock-marker one, edited'), one)
    await expect.poll(async () => ((await backInStock()) as { text?: string } | undefined)?.text, { timeout: 15_000 }).toBe('stock-marker one, edited')
    await stock.page.evaluate(({ id, entry }) => globalThis.stock.set(id, entry), { id: one, entry: original })
    await expect.poll(async () => ((await backInStock()) as { text?: string } | undefined)?.text, { timeout: 15_000 }).toBe('stock-marker one, edited')
    expect(await textsOf(a.page)).toEqual(['stock-marker one, edited', 'stock-marker two', 'written by a stock client'])

    // Only the author deletes: the stock page's signed tombstone of its own entry is honoured; A cannot delete it.
    expect(await a.page.evaluate((id) => globalThis.edgeswarm?.memory.remove(id), written)).toBe(false)
    await stock.page.evaluate((id) => globalThis.stock.deleteMemory(id), written)
    await expect.poll(() => textsOf(a.page), { timeout: 15_000 }).toEqual(['stock-marker one, edited', 'stock-marker two'])
    await expect(a.page.getByTestId('memory-refusals')).toContainText('Refused')
  } finally {
    await stock.close()
    await a.context.close()
  }
})

import { expect, test } from '@playwright/test'
import { addMemoryViaUi, expectMemory, expectPeers, freshRoom, listedMemory, listedPeers, openNode, readyNodeId, type AppNode } from './support/nodes'

test.describe('a room of three browsers', () => {
  let nodes: AppNode[] = []
  test.afterEach(async () => {
    await Promise.all(nodes.map((node) => node.context.close().catch(() => undefined)))
    nodes = []
  })

  test('every node lists the other two; memory adds, edits and deletes reach everyone; a reload keeps identity and memory', async ({ browser }) => {
    const room = freshRoom('three')
    nodes = await Promise.all([openNode(browser, room), openNode(browser, room), openNode(browser, room)])
    const [a, b, c] = nodes as [AppNode, AppNode, AppNode]
    expect(new Set([a.nodeId, b.nodeId, c.nodeId]).size).toBe(3)
    // Three WebRTC links opening at once: on a loaded 2-core CI machine that can take a while.
    await Promise.all(
      nodes.map((node) =>
        expectPeers(
          node.page,
          nodes.filter((other) => other !== node).map((other) => other.nodeId),
          25_000,
        ),
      ),
    )
    await expect(a.page.getByTestId('count-peers')).toContainText('2 peers')
    await expect(a.page.locator('.topology-link')).toHaveCount(3)

    // The swarm view shows the room doc's encoded size; it grows when memory is written (measured every 2 s).
    const docSize = b.page.getByTestId('doc-size')
    await expect(docSize).toContainText(' doc')
    const shownBytes = async (): Promise<number> => Number(await docSize.getAttribute('data-bytes'))
    const before = await shownBytes()
    await addMemoryViaUi(a.page, 'The relay listens on 8787', 'ops, relay')
    await Promise.all([b, c].map((node) => expectMemory(node.page, ['The relay listens on 8787'])))
    await expect.poll(shownBytes, { timeout: 10_000 }).toBeGreaterThan(before)
    await expect.poll(async () => (await b.page.evaluate(() => globalThis.edgeswarm?.docSize())) === (await shownBytes()), { timeout: 10_000 }).toBe(true)
    const item = b.page.getByTestId('memory-item')
    await expect(item).toHaveAttribute('data-trust', 'trusted')
    await expect(item.locator('.author')).toHaveText(a.nodeId.slice(0, 8))

    // Only the author changes an entry: B's edit of A's is a new entry of B's; A's own edit is a new version.
    await expect(item.getByTestId('memory-edit')).toHaveText('Edit as mine')
    await expect(item.getByTestId('memory-delete')).toHaveCount(0)
    await item.getByTestId('memory-edit').click()
    await b.page.getByTestId('memory-edit-text').fill('The relay listens on 8787 by default')
    await b.page.getByTestId('memory-save').click()
    await Promise.all(nodes.map((node) => expectMemory(node.page, ['The relay listens on 8787', 'The relay listens on 8787 by default'])))
    await expect(a.page.getByTestId('memory-item').filter({ hasText: 'by default' }).locator('.author')).toHaveText(b.nodeId.slice(0, 8))
    await expect(a.page.getByTestId('memory-item').filter({ hasText: 'by default' })).toHaveAttribute('data-trust', 'trusted')
    const own = a.page.getByTestId('memory-item').filter({ hasNotText: 'by default' })
    await own.getByTestId('memory-edit').click()
    await a.page.getByTestId('memory-edit-text').fill('The relay listens on 8787 unless PORT is set')
    await a.page.getByTestId('memory-save').click()
    await Promise.all(nodes.map((node) => expectMemory(node.page, ['The relay listens on 8787 unless PORT is set', 'The relay listens on 8787 by default'])))

    // Each deletes its own, with a signed tombstone; C may delete neither.
    await expect(c.page.getByTestId('memory-delete')).toHaveCount(0)
    await a.page.getByTestId('memory-item').filter({ hasText: 'unless PORT' }).getByTestId('memory-delete').click()
    await b.page.getByTestId('memory-item').filter({ hasText: 'by default' }).getByTestId('memory-delete').click()
    await Promise.all(nodes.map((node) => expectMemory(node.page, [])))

    const kept = await a.page.evaluate(() => globalThis.edgeswarm?.memory.add('kept across reloads', ['test']))
    expect(kept).toBe(`${a.nodeId}/${kept?.split('/')[1] ?? ''}`)
    expect(kept).toMatch(/^[0-9a-f]{20}\/[a-z0-9]{16}$/)
    await expectMemory(c.page, ['kept across reloads'])
    await c.page.reload()
    expect(await readyNodeId(c.page)).toBe(c.nodeId)
    await expectMemory(c.page, ['kept across reloads'])
    await expectPeers(c.page, [a.nodeId, b.nodeId])
    const found = await c.page.evaluate(async () => (await globalThis.edgeswarm?.memory.search('reloads'))?.map((entry) => entry.text))
    expect(found).toEqual(['kept across reloads'])
  })

  test('a node that closes, or hangs without a goodbye, is dropped from the peer list of the others', async ({ browser }) => {
    const room = freshRoom('leave')
    nodes = await Promise.all([openNode(browser, room), openNode(browser, room), openNode(browser, room), openNode(browser, room)])
    const [a, b, c, d] = nodes as [AppNode, AppNode, AppNode, AppNode]
    // Four nodes make six WebRTC links; on a loaded 2-core CI machine that can take a while.
    await expectPeers(a.page, [b.nodeId, c.nodeId, d.nodeId], 25_000)
    await expectPeers(c.page, [a.nodeId, b.nodeId, d.nodeId], 25_000)
    await b.context.close()
    await expectPeers(a.page, [c.nodeId, d.nodeId])
    await expectPeers(c.page, [a.nodeId, d.nodeId])
    await expect(a.page.getByTestId('events')).toContainText(`${b.nodeId.slice(0, 8)} left`)

    // A hung tab sends no goodbye and no heartbeat: the peer timeout (4 s here) drops it.
    d.page
      .evaluate(() => {
        for (;;);
      })
      .catch(() => undefined)
    await expectPeers(a.page, [c.nodeId])
    await expectPeers(c.page, [a.nodeId])
  })

  test('a node with the wrong key sees no peers and no memory, no one sees it, and the others are told why', async ({ browser }) => {
    const room = freshRoom('wrongkey')
    nodes = await Promise.all([openNode(browser, room), openNode(browser, room)])
    const [a, b] = nodes as [AppNode, AppNode]
    await expectPeers(a.page, [b.nodeId])
    await addMemoryViaUi(a.page, 'secret plans')
    await expectMemory(b.page, ['secret plans'])

    const d = await openNode(browser, { room: room.room, key: 'not-the-key' })
    nodes.push(d)
    // Give D every chance to be found: several heartbeats and signaling announces.
    await d.page.waitForTimeout(6_000)
    expect(await listedPeers(d.page)).toEqual([])
    expect(await listedMemory(d.page)).toEqual([])
    expect(await d.page.evaluate(() => globalThis.edgeswarm?.peers().length)).toBe(0)
    expect(await listedPeers(a.page)).toEqual([b.nodeId])
    expect(await listedPeers(b.page)).toEqual([a.nodeId])
    // Its announces reach A and B undecryptable; they are told, not thrown.
    await expect(a.page.getByTestId('notice-warn')).toContainText('different room key')
  })
})

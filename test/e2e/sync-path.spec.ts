import { expect, test, type Page } from '@playwright/test'
import { expectMemory, expectPeers, freshRoom, openNode, readyNodeId, type AppNode } from './support/nodes'

/** Tags the elements `selector` matches with a property of this page's own (the DOM does not show it): an element rebuilt loses it. */
async function tagElements(page: Page, selector: string, tag: string): Promise<number> {
  return page.evaluate(
    ({ selector, tag }) => {
      const elements = [...document.querySelectorAll(selector)]
      for (const element of elements) Object.assign(element, { [tag]: true })
      return elements.length
    },
    { selector, tag },
  )
}

/** For each element `selector` matches, in order: its `key` attribute and whether it still carries the tag. */
async function tagged(page: Page, selector: string, key: string, tag: string): Promise<[string, boolean][]> {
  return page.evaluate(({ selector, key, tag }) => [...document.querySelectorAll(selector)].map((element): [string, boolean] => [element.getAttribute(key) ?? '', tag in element]), {
    selector,
    key,
    tag,
  })
}

test.describe('the tab’s sync path', () => {
  let nodes: AppNode[] = []
  test.afterEach(async () => {
    await Promise.all(nodes.map((node) => node.context.close().catch(() => undefined)))
    nodes = []
  })

  test('writes are batched to IndexedDB and none is lost: a reload right after its own writes and a burst of a peer’s keeps them all, from this device alone', async ({ browser }) => {
    const room = freshRoom('batched-store')
    nodes = await Promise.all([openNode(browser, room), openNode(browser, room)])
    const [a, b] = nodes as [AppNode, AppNode]
    await expectPeers(a.page, [b.nodeId], 25_000)

    const theirs = Array.from({ length: 12 }, (_, i) => `from the peer ${i}`)
    await b.page.evaluate(async (texts) => {
      for (const text of texts) await globalThis.edgeswarm?.memory.add(text)
    }, theirs)
    // The peer's last updates are still queued here (they wait for an idle moment) when A writes and reloads.
    await a.page.waitForFunction((count) => (globalThis.edgeswarm?.peers().length ?? 0) > 0 && document.querySelectorAll('[data-testid=memory-item]').length >= count, theirs.length, { polling: 5 })
    const mine = Array.from({ length: 5 }, (_, i) => `written here ${i}`)
    await a.page.evaluate(async (texts) => {
      await Promise.all(texts.map((text) => globalThis.edgeswarm?.memory.add(text) ?? Promise.resolve('')))
    }, mine)
    // The peer leaves as A reloads: what A shows after can only come from its IndexedDB (this relay keeps no copy).
    await Promise.all([b.context.close(), a.page.reload()])
    expect(await readyNodeId(a.page)).toBe(a.nodeId)
    await expectMemory(a.page, [...theirs, ...mine])
    expect(await a.page.evaluate(() => globalThis.edgeswarm?.peers().length)).toBe(0)
  })

  test('only what changed is redrawn: an edited entry’s row is new and the other rows are the same DOM nodes; heartbeats leave the peer rows and the topology as they are', async ({ browser }) => {
    const room = freshRoom('incremental')
    nodes = await Promise.all([openNode(browser, room, { peerTimeoutMs: '3000' }), openNode(browser, room, { peerTimeoutMs: '3000' })])
    const [a, b] = nodes as [AppNode, AppNode]
    await expectPeers(b.page, [a.nodeId], 25_000)
    const ids = await a.page.evaluate(async () => Promise.all(['first', 'second', 'third'].map((text) => globalThis.edgeswarm?.memory.add(text) ?? Promise.resolve(''))))
    await expectMemory(b.page, ['first', 'second', 'third'])
    expect(await tagElements(b.page, '[data-testid=memory-item]', '__kept')).toBe(3)
    expect(await tagElements(b.page, '[data-testid=peer], [data-testid=topology] svg', '__kept')).toBe(2)

    // A few heartbeats (one a second here), each a new signed presence: nothing shown changed.
    const heartbeat = async (): Promise<number> => (await b.page.evaluate(() => globalThis.edgeswarm?.peers()[0]?.lastSeenMs)) ?? 0
    const seen = await heartbeat()
    await expect.poll(heartbeat, { timeout: 10_000 }).toBeGreaterThan(seen + 1500)
    expect(await tagged(b.page, '[data-testid=peer]', 'data-node-id', '__kept')).toEqual([[a.nodeId, true]])
    expect(await tagged(b.page, '[data-testid=topology] svg', 'class', '__kept')).toEqual([['topology', true]])

    // A's edit of its second entry: that row alone is rebuilt, and shows the new text.
    await a.page.evaluate(async (id) => globalThis.edgeswarm?.memory.update(id, 'second, edited'), ids[1] ?? '')
    await expectMemory(b.page, ['first', 'second, edited', 'third'])
    const rows = Object.fromEntries(await tagged(b.page, '[data-testid=memory-item]', 'data-id', '__kept'))
    expect(rows).toEqual({ [ids[0] ?? '']: true, [ids[1] ?? '']: false, [ids[2] ?? '']: true })

    // What a peer row shows changes (A's serve setting): that row is rebuilt.
    const serve = b.page.getByTestId('peer-serve')
    const next = (await serve.getAttribute('data-serve')) === 'always' ? 'off' : 'always'
    await a.page.getByTestId('serve-mode').selectOption(next)
    await expect(serve).toHaveAttribute('data-serve', next)
    expect(await tagged(b.page, '[data-testid=peer]', 'data-node-id', '__kept')).toEqual([[a.nodeId, false]])
  })
})

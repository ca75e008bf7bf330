import { expect, test, type Page } from '@playwright/test'
import { expectEngineState, wasmTiny } from './support/chat'
import { expectPeers, freshRoom, openNode, readyNodeId, type AppNode } from './support/nodes'

type Totals = Record<string, { served: number; consumed: number; tasksServed: number; tasksConsumed: number }>

const ledgerOf = (page: Page): Promise<Totals> => page.evaluate(() => globalThis.edgeswarm?.ledger() ?? {})
const canonical = (totals: Totals): string => JSON.stringify(Object.entries(totals).sort(([a], [b]) => (a < b ? -1 : 1)))

test.describe('serving peers on the user’s terms', () => {
  let nodes: AppNode[] = []
  test.afterEach(async () => {
    await Promise.all(nodes.map((node) => node.context.close().catch(() => undefined)))
    nodes = []
  })

  test('"serve peers: off" in the header: the node never bids, its presence says so; the ledger shows the same counts on every node', async ({ browser }) => {
    const room = freshRoom('serve')
    const poster = await openNode(browser, room, { engine: 'none' })
    const giver = await openNode(browser, room, wasmTiny)
    const quiet = await openNode(browser, room, wasmTiny)
    nodes = [poster, giver, quiet]
    await Promise.all([expectEngineState(giver.page, 'ready'), expectEngineState(quiet.page, 'ready')])
    await expectPeers(poster.page, [giver.nodeId, quiet.nodeId])

    await quiet.page.getByTestId('serve-mode').selectOption('off')
    await expect.poll(() => poster.page.evaluate((id) => globalThis.edgeswarm?.peers().find((peer) => peer.id === id)?.serve, quiet.nodeId), { timeout: 10_000 }).toBe('off')
    await expect(poster.page.locator(`[data-testid=peer][data-node-id="${quiet.nodeId}"] [data-testid=peer-serve]`)).toHaveAttribute('data-serve', 'off')

    const executors = await poster.page.evaluate(async () => {
      const api = globalThis.edgeswarm
      if (!api) throw new Error('no API')
      const ran: string[] = []
      for (let k = 0; k < 3; k++) ran.push((await api.tasks.submit({ messages: [{ role: 'user', content: `Say something, number ${k}.` }], max_tokens: 8 }).result).executor)
      return ran
    })
    expect(executors).toEqual([giver.nodeId, giver.nodeId, giver.nodeId])
    // Not one bid of the quiet node in any task, as every node's doc says.
    for (const node of nodes) {
      const bidders = await node.page.evaluate(() => (globalThis.edgeswarm?.tasks.list() ?? []).flatMap((task) => task.bidders))
      expect(bidders).toContain(giver.nodeId)
      expect(bidders).not.toContain(quiet.nodeId)
    }

    // The signed receipts: three tasks the giver served the poster, the same totals on every node.
    await expect.poll(async () => (await ledgerOf(poster.page))[poster.nodeId]?.tasksConsumed, { timeout: 15_000 }).toBe(3)
    const totals = await ledgerOf(poster.page)
    const tokens = totals[poster.nodeId]?.consumed ?? 0
    expect(tokens).toBeGreaterThan(0)
    expect(totals[giver.nodeId]).toEqual({ served: tokens, consumed: 0, tasksServed: 3, tasksConsumed: 0 })
    expect(totals[quiet.nodeId]).toBeUndefined()
    for (const node of [giver, quiet]) await expect.poll(async () => canonical(await ledgerOf(node.page)), { timeout: 15_000 }).toBe(canonical(totals))
    // And the swarm views show them: per peer, and this node's own.
    await expect(quiet.page.locator(`[data-testid=peer][data-node-id="${giver.nodeId}"] [data-testid=peer-ledger]`)).toHaveAttribute('data-served', String(tokens))
    await expect(quiet.page.locator(`[data-testid=peer][data-node-id="${poster.nodeId}"] [data-testid=peer-ledger]`)).toHaveAttribute('data-consumed', String(tokens))
    await expect(giver.page.getByTestId('my-ledger')).toHaveAttribute('data-served', String(tokens))
    await expect(poster.page.getByTestId('my-ledger')).toHaveAttribute('data-consumed', String(tokens))

    // The choice is remembered by the profile.
    await quiet.page.reload()
    await readyNodeId(quiet.page)
    await expect(quiet.page.getByTestId('serve-mode')).toHaveValue('off')
  })
})

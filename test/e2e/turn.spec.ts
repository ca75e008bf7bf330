// Relay-only links through a real TURN server: coturn on loopback with a shared secret, a relay
// that hands each page TURN credentials of its own (RELAY_TURN_URLS, RELAY_TURN_SECRET), and
// two browser profiles with ice=relay that must meet, sync memory and run a task through it.
import { expect, test, type Page } from '@playwright/test'
import { expectEngineState, wasmTiny } from './support/chat'
import { startCoturn, type Coturn } from './support/coturn'
import { appPath, expectMemory, expectPeers, freshRoom, readyAndAgreed, readyNodeId, type AppNode } from './support/nodes'
import { startRelayProcess, type RelayProcess } from '../unit/relay-fuzz/relay-process'

const secret = 'e2e-coturn-shared-secret-0123456789'

async function startTurnRelay(coturn: Coturn, relaySecret: string): Promise<RelayProcess> {
  return startRelayProcess({ RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: 'test/fixtures', RELAY_TURN_URLS: coturn.url, RELAY_TURN_SECRET: relaySecret, RELAY_TURN_TTL_S: '600' }, () => true)
}

/** The swarm view's link to `peerId`: its kind, and the selected pair's candidate types (its title). */
function linkOf(page: Page, peerId: string): { kind: () => Promise<string>; pair: () => Promise<string | null> } {
  const link = page.locator(`[data-testid=peer][data-node-id="${peerId}"] [data-testid=link]`)
  return {
    kind: () =>
      link
        .getByTestId('link-kind')
        .textContent()
        .then((text) => text ?? ''),
    pair: () => link.getAttribute('title'),
  }
}

test.describe('TURN', () => {
  let coturn: Coturn | undefined
  let relay: RelayProcess | undefined
  let nodes: AppNode[] = []

  test.beforeAll(async () => {
    coturn = await startCoturn(secret)
  })
  test.afterEach(async () => {
    await Promise.all(nodes.map((node) => node.context.close().catch(() => undefined)))
    nodes = []
    const failed = test.info().status !== test.info().expectedStatus
    if (failed) console.error(`[relay]\n${relay?.output() ?? ''}\n[coturn]\n${coturn?.log().slice(-6000) ?? ''}`)
    await relay?.stop()
    relay = undefined
  })
  test.afterAll(async () => {
    await coturn?.stop()
  })

  const open = async (browser: import('@playwright/test').Browser, path: string): Promise<AppNode> => {
    const context = await browser.newContext()
    const page = await context.newPage()
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
    await page.goto(`${relay?.baseUrl ?? ''}${path}`)
    const node = { context, page, nodeId: await readyAndAgreed(page, Object.fromEntries(new URLSearchParams(path.split('?')[1] ?? ''))) }
    nodes.push(node)
    return node
  }

  test('two ice=relay nodes link through coturn only, sync memory and run a swarm task; the view shows the link as relayed', async ({ browser }) => {
    if (coturn === undefined) throw new Error('coturn did not start')
    relay = await startTurnRelay(coturn, secret)
    const ref = freshRoom('turn')
    const asker = await open(browser, appPath(ref, { ice: 'relay', engine: 'none' }))
    const runner = await open(browser, appPath(ref, { ice: 'relay', ...wasmTiny }))
    await expect(asker.page.getByTestId('net-status')).toContainText('relay-only links (TURN) · TURN available')
    await expectPeers(asker.page, [runner.nodeId], 30_000)
    await expectPeers(runner.page, [asker.nodeId], 30_000)

    // Both ends of the selected candidate pair are TURN relay candidates: no host address crossed.
    for (const [page, peerId] of [
      [asker.page, runner.nodeId],
      [runner.page, asker.nodeId],
    ] as const) {
      await expect.poll(() => linkOf(page, peerId).kind(), { timeout: 20_000 }).toBe('relayed (TURN)')
      expect(await linkOf(page, peerId).pair()).toBe('selected candidate pair: relay ↔ relay')
      await expect(page.locator(`[data-testid=peer][data-node-id="${peerId}"] [data-testid=link-rtt]`)).toHaveText(/ · rtt \d+ ms/, { timeout: 20_000 })
    }
    // coturn saw an allocation for each page, under the username the relay gave it (expiry:nodeId).
    for (const nodeId of [asker.nodeId, runner.nodeId]) expect(coturn.log()).toMatch(new RegExp(`username=<\\d+:${nodeId}>`))

    const memoryId = await asker.page.evaluate(() => globalThis.edgeswarm?.memory.add('met through TURN', ['turn']))
    expect(memoryId).toBeTruthy()
    await expectMemory(runner.page, ['met through TURN'])

    await expectEngineState(runner.page, 'ready')
    await expect.poll(() => asker.page.evaluate(() => globalThis.edgeswarm?.peers().find((peer) => peer.engine?.state === 'ready')?.id)).toBe(runner.nodeId)
    const result = await asker.page.evaluate(async () => {
      const handle = globalThis.edgeswarm?.tasks.submit({ messages: [{ role: 'user', content: 'Say hi through the relay.' }], max_tokens: 8 })
      if (!handle) throw new Error('no API')
      const done = await handle.result
      return { executor: done.executor, text: done.text }
    })
    expect(result.executor).toBe(runner.nodeId)
    expect(result.text.length).toBeGreaterThan(0)
    await expect(asker.page.getByTestId('net-problem')).toHaveCount(0)
  })

  test("the relay's gateway peer reaches an ice=relay node through TURN with credentials of its own and gets its answer over /v1", async ({ browser }) => {
    if (coturn === undefined) throw new Error('coturn did not start')
    const ref = freshRoom('turn-gateway')
    const gatewayReady = (health: unknown): boolean =>
      (health as { backends?: { name: string; state: { state: string } }[] }).backends?.some((backend) => backend.name === 'swarm' && backend.state.state === 'ready') === true
    relay = await startRelayProcess(
      { RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: 'test/fixtures', RELAY_TURN_URLS: coturn.url, RELAY_TURN_SECRET: secret, RELAY_ROOMS: `${ref.room}#${ref.key ?? ''}` },
      gatewayReady,
    )
    const runner = await open(browser, appPath(ref, { ice: 'relay', ...wasmTiny }))
    await expectEngineState(runner.page, 'ready')
    const response = await fetch(`${relay.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: `swarm/${ref.room}`, messages: [{ role: 'user', content: 'Hello from the gateway.' }], max_tokens: 8 }),
    })
    const body = (await response.json()) as { choices?: { message?: { content?: string } }[] }
    expect(response.status).toBe(200)
    expect(body.choices?.[0]?.message?.content?.length).toBeGreaterThan(0)
    const gatewayId = await runner.page.evaluate(() => globalThis.edgeswarm?.peers().find((peer) => peer.engine?.kind === 'none')?.id)
    expect(gatewayId).toMatch(/^[0-9a-f]{20}$/)
    await expect.poll(() => linkOf(runner.page, gatewayId ?? '').kind(), { timeout: 20_000 }).toBe('relayed (TURN)')
    // The gateway allocated on coturn under its own node id too.
    expect(coturn.log()).toMatch(new RegExp(`username=<\\d+:${gatewayId ?? ''}>`))
  })

  test('a relay whose RELAY_TURN_SECRET is not coturn’s: the page says the TURN server refused its credentials', async ({ browser }) => {
    if (coturn === undefined) throw new Error('coturn did not start')
    relay = await startTurnRelay(coturn, 'not-the-secret-coturn-was-given')
    const node = await open(browser, appPath(freshRoom('turn-refused'), { ice: 'relay', engine: 'none' }))
    const port = new URL(coturn.url.replace('turn:', 'http://')).port
    await expect(node.page.getByTestId('net-problem')).toContainText(
      new RegExp(`the TURN server turn:127\\.0\\.0\\.1:${port}\\S* refused this relay's credentials \\(401[^)]*\\): RELAY_TURN_SECRET does not match coturn's static-auth-secret`),
      { timeout: 15_000 },
    )
  })

  test('ice=relay on a relay with no TURN server says so', async ({ page }) => {
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
    await page.goto(appPath(freshRoom('turn-none'), { ice: 'relay', engine: 'none' }))
    await readyNodeId(page)
    await expect(page.getByTestId('net-problem')).toHaveText('ice=relay needs a TURN server; this relay offers none (RELAY_TURN_URLS)')
  })

  test('relay-only links as a setting: kept in the browser across reloads, and the URL wins over it', async ({ page }) => {
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
    const ref = freshRoom('turn-setting')
    await page.goto(appPath(ref, { engine: 'none' }))
    await readyNodeId(page)
    await expect(page.getByTestId('net-status')).toContainText('direct links where possible')
    await Promise.all([page.waitForEvent('load'), page.getByTestId('ice-relay-setting').check()])
    await readyNodeId(page)
    await expect(page.getByTestId('net-status')).toContainText('relay-only links (TURN)')
    await expect(page.getByTestId('ice-relay-setting')).toBeChecked()
    await expect(page.getByTestId('net-problem')).toHaveText('ice=relay needs a TURN server; this relay offers none (RELAY_TURN_URLS)')
    await page.goto(appPath(ref, { engine: 'none', ice: 'all' }))
    await readyNodeId(page)
    await expect(page.getByTestId('net-status')).toContainText('direct links where possible')
    await expect(page.getByTestId('net-problem')).toHaveCount(0)
  })
})

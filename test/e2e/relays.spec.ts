// Past one relay: two relay processes sharing one real redis-server form one room, and a page
// fails over to the other signaling URL when its relay stops; a single relay's restart keeps
// the room's existing links syncing and lets newcomers in afterwards.
import { expect, test, type Page } from '@playwright/test'
import { expectEngineState, wasmTiny } from './support/chat'
import { addMemoryViaUi, appPath, expectMemory, expectPeers, freshRoom, readyAndAgreed, type AppNode, type RoomRef } from './support/nodes'
import { startRelayOnPort, type PortRelay } from './support/relay-on-port'
import { freePort } from '../unit/relay-fuzz/relay-process'
import { startRedisServer, type RedisServer } from '../unit/relay-cluster/redis-server'

interface ClusterHealthView {
  cluster: { redis: { state: string }; instances: { id: string }[] } | null
}

const redisUp = (health: unknown): boolean => (health as ClusterHealthView).cluster?.redis.state === 'up'

async function openOn(relay: PortRelay, browser: import('@playwright/test').Browser, ref: RoomRef, params: Record<string, string>): Promise<AppNode> {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
  await page.goto(`${relay.baseUrl}${appPath(ref, params)}`)
  return { context, page, nodeId: await readyAndAgreed(page, params) }
}

function signaling(page: Page): Promise<{ status: string; url: string } | undefined> {
  return page.evaluate(() => {
    const state = globalThis.edgeswarm?.signaling()
    return state === undefined ? undefined : { status: state.status, url: state.url }
  })
}

test.describe('past one relay', () => {
  const relays: PortRelay[] = []
  let redis: RedisServer | undefined
  let nodes: AppNode[] = []

  test.afterEach(async () => {
    await Promise.all(nodes.map((node) => node.context.close().catch(() => undefined)))
    nodes = []
    const failed = test.info().status !== test.info().expectedStatus
    for (const relay of relays.splice(0)) {
      if (failed) console.error(`[relay ${relay.port}]\n${relay.output()}`)
      await relay.stop()
    }
    await redis?.dispose()
    redis = undefined
  })

  test('two relays sharing Redis form one room; stopping one, its page signals through the other', async ({ browser }) => {
    test.setTimeout(120_000)
    redis = await startRedisServer()
    const [portA, portB] = [await freePort(), await freePort()]
    const env = (self: number, other: number, id: string): Record<string, string> => ({
      RELAY_REDIS_URL: redis?.url ?? '',
      RELAY_SIGNALING_URLS: `ws://127.0.0.1:${other}/signal`,
      RELAY_INSTANCE_ID: id,
    })
    const relayA = await startRelayOnPort(portA, env(portA, portB, 'relay-a'), redisUp)
    relays.push(relayA)
    const relayB = await startRelayOnPort(portB, env(portB, portA, 'relay-b'), redisUp)
    relays.push(relayB)

    const ref = freshRoom('relays')
    const a = await openOn(relayA, browser, ref, wasmTiny)
    const b = await openOn(relayB, browser, ref, { engine: 'none' })
    nodes = [a, b]
    expect(await signaling(a.page)).toEqual({ status: 'connected', url: relayA.signalUrl })
    expect(await signaling(b.page)).toEqual({ status: 'connected', url: relayB.signalUrl })
    await expectPeers(a.page, [b.nodeId], 20_000)
    await expectPeers(b.page, [a.nodeId])
    await expect(a.page.getByTestId('signaling')).toHaveText(`signaling via 127.0.0.1:${portA}`)

    // Memory syncs across the two relays.
    await addMemoryViaUi(a.page, 'written on relay a')
    await expectMemory(b.page, ['written on relay a'])

    // A task posted on relay b's page runs on relay a's page.
    await expectEngineState(a.page, 'ready')
    await expect.poll(() => b.page.evaluate(() => globalThis.edgeswarm?.peers()[0]?.engine?.state)).toBe('ready')
    const executor = await b.page.evaluate(async () => {
      const handle = globalThis.edgeswarm?.tasks.submit({ messages: [{ role: 'user', content: 'Count to three.' }], max_tokens: 8, enable_thinking: false })
      if (!handle) throw new Error('no API')
      return (await handle.result).executor
    })
    expect(executor).toBe(a.nodeId)

    // Relay a stops: its page signals through relay b, the other URL it was given.
    await relayA.stop()
    await expect.poll(() => signaling(a.page), { timeout: 20_000 }).toEqual({ status: 'connected', url: relayB.signalUrl })
    await expect(a.page.getByTestId('signaling')).toHaveText(`signaling via 127.0.0.1:${portB}`)
    await addMemoryViaUi(b.page, 'written after relay a stopped')
    await expectMemory(a.page, ['written on relay a', 'written after relay a stopped'])

    // A newcomer through the surviving relay links to it.
    const c = await openOn(relayB, browser, ref, { engine: 'none' })
    nodes.push(c)
    await expectPeers(c.page, [a.nodeId, b.nodeId], 30_000)
    await expectPeers(a.page, [b.nodeId, c.nodeId], 30_000)
    await expectMemory(c.page, ['written on relay a', 'written after relay a stopped'])
  })

  test('a relay restart: existing peers sync through the outage, the view says signaling offline, a newcomer joins after', async ({ browser }) => {
    test.setTimeout(120_000)
    const relay = await startRelayOnPort(await freePort(), {})
    relays.push(relay)
    const ref = freshRoom('restart')
    const a = await openOn(relay, browser, ref, { engine: 'none' })
    const b = await openOn(relay, browser, ref, { engine: 'none' })
    nodes = [a, b]
    await expectPeers(a.page, [b.nodeId], 20_000)
    await expectPeers(b.page, [a.nodeId])

    await relay.stop()
    for (const node of [a, b]) {
      await expect(node.page.getByTestId('signaling')).toHaveAttribute('data-status', 'offline', { timeout: 10_000 })
      await expect(node.page.getByTestId('signaling')).toContainText('signaling offline, 1 peer still connected')
    }
    await expect.poll(() => a.page.getByTestId('signaling').textContent(), { timeout: 20_000 }).toMatch(/reconnecting in \d+ seconds?$/)
    // The WebRTC link does not need the relay: memory still syncs, both ways.
    await addMemoryViaUi(a.page, 'written during the outage')
    await expectMemory(b.page, ['written during the outage'])
    await addMemoryViaUi(b.page, 'answered during the outage')
    await expectMemory(a.page, ['written during the outage', 'answered during the outage'])
    await expectPeers(a.page, [b.nodeId])

    await relay.start()
    for (const node of [a, b]) await expect.poll(() => signaling(node.page), { timeout: 45_000 }).toEqual({ status: 'connected', url: relay.signalUrl })
    const c = await openOn(relay, browser, ref, { engine: 'none' })
    nodes.push(c)
    await expectPeers(c.page, [a.nodeId, b.nodeId], 30_000)
    await expectPeers(a.page, [b.nodeId, c.nodeId], 30_000)
    await expectMemory(c.page, ['written during the outage', 'answered during the outage'])
  })
})

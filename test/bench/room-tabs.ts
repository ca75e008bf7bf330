// Tabs of a room for the benches: app tabs and stock y-webrtc pages, and the write → seen latency between them.
import type { Browser, Page } from '@playwright/test'
import { appPath, openStockPage, readyNodeId, type RoomRef } from '../e2e/support/nodes'
import type { RelayProcess } from './relay-process'

export interface Tab {
  page: Page
  close(): Promise<void>
}

export async function openAppTab(browser: Browser, relay: RelayProcess, ref: RoomRef): Promise<Tab> {
  const context = await browser.newContext({ baseURL: relay.url })
  const page = await context.newPage()
  await page.goto(appPath(ref, { peerTimeoutMs: '15000' }))
  await readyNodeId(page)
  return { page, close: () => context.close() }
}

export async function openStockTab(browser: Browser, relay: RelayProcess, ref: RoomRef): Promise<Tab> {
  const stock = await openStockPage(browser)
  await stock.page.evaluate(({ room, key, url }) => globalThis.stock.start(room, key, url), { room: ref.room, key: ref.key, url: relay.url.replace('http', 'ws') + '/signal' })
  return { page: stock.page, close: () => stock.close() }
}

/** Writes `writes` entries from the first tab, paced, and returns write → seen-by-all latencies. */
export async function measureWrites(tabs: Tab[], kind: 'app' | 'stock', writes: number, writeIntervalMs: number): Promise<number[]> {
  const [writer, ...readers] = tabs
  if (!writer) return []
  if (kind === 'app') {
    await Promise.all(
      readers.map((tab) =>
        tab.page.evaluate(() => {
          const arrivals: Record<string, number> = {}
          Object.assign(globalThis, { arrivals })
          globalThis.edgeswarm?.on('memory', (items) => {
            const at = performance.timeOrigin + performance.now()
            for (const item of items) arrivals[item.text] ??= at
          })
        }),
      ),
    )
  }
  const sentAt: number[] = await writer.page.evaluate(
    async ({ writes, writeIntervalMs, kind }) => {
      const sent: number[] = []
      for (let i = 0; i < writes; i++) {
        const started = performance.timeOrigin + performance.now()
        sent.push(started)
        if (kind === 'app') await globalThis.edgeswarm?.memory.add(`bench-${i}`)
        else globalThis.stock.set(`id-${i}`, { text: `bench-${i}` })
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, writeIntervalMs - (performance.timeOrigin + performance.now() - started))))
      }
      return sent
    },
    { writes, writeIntervalMs, kind },
  )
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  const arrivals = await Promise.all(
    readers.map((tab) => tab.page.evaluate(() => (globalThis as unknown as { arrivals?: Record<string, number>; stock?: { arrivals: Record<string, number> } }).arrivals ?? globalThis.stock.arrivals)),
  )
  return sentAt.map((sent, i) => Math.max(...arrivals.map((seen) => (seen[`bench-${i}`] ?? Number.POSITIVE_INFINITY) - sent)))
}

export async function waitForPeers(tabs: Tab[], kind: 'app' | 'stock'): Promise<void> {
  const expected = tabs.length - 1
  await Promise.all(
    tabs.map((tab) =>
      kind === 'app'
        ? tab.page.waitForFunction((n) => globalThis.edgeswarm?.peers().length === n, expected, { timeout: 30_000 })
        : tab.page.waitForFunction((n) => globalThis.stock.webrtcPeers() === n, expected, { timeout: 30_000 }),
    ),
  )
}

export interface JoinTimes {
  /** page load → app ready, ms */
  ready: number[]
  /** page load → first peer seen, ms */
  firstPeer: number[]
}

/** Opens `samples` new tabs of `ref` through `relay` one after another (a peer is there already), each closed once it sees a peer. */
export async function timeJoins(browser: Browser, relay: RelayProcess, ref: RoomRef, samples: number): Promise<JoinTimes> {
  const ready: number[] = []
  const firstPeer: number[] = []
  for (let i = 0; i < samples; i++) {
    const context = await browser.newContext({ baseURL: relay.url })
    const page = await context.newPage()
    const started = Date.now()
    await page.goto(appPath(ref, { peerTimeoutMs: '15000' }))
    await readyNodeId(page)
    ready.push(Date.now() - started)
    await page.waitForFunction(() => (globalThis.edgeswarm?.peers().length ?? 0) > 0, undefined, { polling: 10, timeout: 30_000 })
    firstPeer.push(Date.now() - started)
    await context.close()
  }
  return { ready, firstPeer }
}

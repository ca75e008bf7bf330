// Tabs of a room for the benches: app tabs and stock y-webrtc pages, and the write → seen latency between them.
import type { Browser, Page } from '@playwright/test'
import { appPath, openStockPage, readyNodeId, type RoomRef } from '../e2e/support/nodes'
import type { RelayProcess } from './relay-process'

export interface Tab {
  page: Page
  close(): Promise<void>
}

/** `init` (a script's source) runs in the page before its own scripts: a bench's probe. */
export async function openAppTab(browser: Browser, relay: RelayProcess, ref: RoomRef, init?: string): Promise<Tab> {
  const context = await browser.newContext({ baseURL: relay.url })
  if (init) await context.addInitScript({ content: init })
  const page = await context.newPage()
  await page.goto(appPath(ref, { peerTimeoutMs: '15000' }))
  await readyNodeId(page)
  return { page, close: () => context.close() }
}

export async function openStockTab(browser: Browser, relay: RelayProcess, ref: RoomRef, init?: string): Promise<Tab> {
  const stock = await openStockPage(browser)
  // Before any link exists: what `init` wraps (RTCDataChannel) is wrapped for every link.
  if (init) await stock.page.addScriptTag({ content: init })
  await stock.page.evaluate(({ room, key, url }) => globalThis.stock.start(room, key, url), { room: ref.room, key: ref.key, url: relay.url.replace('http', 'ws') + '/signal' })
  return { page: stock.page, close: () => stock.close() }
}

/** What one run of paced writes gave: per write, when it started (the writer's clock), its entry id (app tabs), and write → seen-by-all latency. */
export interface WriteRun {
  startedAt: number[]
  ids: string[]
  latencies: number[]
}

/**
 * Which pages write and how: the app (memory.add), stock y-webrtc pages setting a plain value,
 * or stock pages writing signed entries whose readers count one seen once its signature verified.
 */
export type WriteKind = 'app' | 'stock' | 'signed'

/** Writes `writes` entries from the first tab, paced, and returns write → seen-by-all latencies. */
export async function measureWrites(tabs: Tab[], kind: WriteKind, writes: number, writeIntervalMs: number): Promise<number[]> {
  return (await runWrites(tabs, kind, writes, writeIntervalMs)).latencies
}

/** measureWrites with the times and ids of the writes (perf-memory joins them with what each tab noted). */
export async function runWrites(tabs: Tab[], kind: WriteKind, writes: number, writeIntervalMs: number): Promise<WriteRun> {
  const [writer, ...readers] = tabs
  if (!writer) return { startedAt: [], ids: [], latencies: [] }
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
  if (kind === 'signed') {
    await Promise.all(readers.map((tab) => tab.page.evaluate(() => globalThis.stock.verifyArrivals())))
    // The writer's key is made before the first write, as the app's is.
    await writer.page.evaluate(() => globalThis.stock.author())
  }
  const { startedAt, ids } = await writer.page.evaluate(
    async ({ writes, writeIntervalMs, kind }) => {
      const startedAt: number[] = []
      const ids: string[] = []
      for (let i = 0; i < writes; i++) {
        const started = performance.timeOrigin + performance.now()
        startedAt.push(started)
        if (kind === 'app') ids.push((await globalThis.edgeswarm?.memory.add(`bench-${i}`)) ?? '')
        else if (kind === 'signed') ids.push(await globalThis.stock.writeMemory(`bench-${i}`, []))
        else globalThis.stock.set(`id-${i}`, { text: `bench-${i}` })
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, writeIntervalMs - (performance.timeOrigin + performance.now() - started))))
      }
      return { startedAt, ids }
    },
    { writes, writeIntervalMs, kind },
  )
  // The floor's readers count an entry only once its signature holds: one tampered entry must stay uncounted, or the floor measures no check.
  if (kind === 'signed') await writer.page.evaluate(() => globalThis.stock.writeTamperedMemory('bench-tampered'))
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  const arrivals = await Promise.all(
    readers.map((tab) => tab.page.evaluate(() => (globalThis as unknown as { arrivals?: Record<string, number>; stock?: { arrivals: Record<string, number> } }).arrivals ?? globalThis.stock.arrivals)),
  )
  if (kind === 'signed' && arrivals.some((seen) => 'bench-tampered' in seen)) throw new Error('the signed floor counted a tampered entry: its readers check nothing')
  const latencies = startedAt.map((sent, i) => Math.max(...arrivals.map((seen) => (seen[`bench-${i}`] ?? Number.POSITIVE_INFINITY) - sent)))
  return { startedAt, ids, latencies }
}

export async function waitForPeers(tabs: Tab[], kind: WriteKind): Promise<void> {
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

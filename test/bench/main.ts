// `npm run bench`: figures measured side by side in one run; nothing here is asserted.
import { chromium, type Browser, type Page } from '@playwright/test'
import { WebSocket } from 'ws'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { appPath, freshRoom, openStockPage, readyNodeId, type RoomRef } from '../e2e/support/nodes'
import { buildStockBundle } from '../e2e/support/stock-bundle'
import { benchContext } from './context'
import { benchEngine } from './engine'
import { benchFlood } from './flood'
import { benchMarket } from './market'
import { benchMemoryAnswers } from './memory-answers'
import { benchMesh } from './mesh'
import { benchTrustCost } from './market-before-after'
import { benchMemorySearch } from './memory-search'
import { benchMicronets } from './micronets'
import { benchPlan } from './plan'
import { benchRelay } from './relay-v1'
import { startRelay, type RelayProcess } from './relay-process'
import { fmt, median, percentile, table } from './stats'

const writes = Number(process.env.BENCH_WRITES ?? 200)
const writeIntervalMs = 40
const joinSamples = 5
const sections = new Set((process.env.BENCH_SECTIONS ?? 'room,engine,market,mesh,trust,relay,micronets,flood,memory,answers,context,plan').split(',').map((name) => name.trim()))

interface Tab {
  page: Page
  close(): Promise<void>
}

async function openAppTab(browser: Browser, relay: RelayProcess, ref: RoomRef): Promise<Tab> {
  const context = await browser.newContext({ baseURL: relay.url })
  const page = await context.newPage()
  await page.goto(appPath(ref, { peerTimeoutMs: '15000' }))
  await readyNodeId(page)
  return { page, close: () => context.close() }
}

async function openStockTab(browser: Browser, relay: RelayProcess, ref: RoomRef): Promise<Tab> {
  const stock = await openStockPage(browser)
  await stock.page.evaluate(({ room, key, url }) => globalThis.stock.start(room, key, url), { room: ref.room, key: ref.key, url: relay.url.replace('http', 'ws') + '/signal' })
  return { page: stock.page, close: () => stock.close() }
}

/** Writes `writes` entries from the first tab, paced, and returns write → seen-by-all latencies. */
async function measureWrites(tabs: Tab[], kind: 'app' | 'stock'): Promise<number[]> {
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

async function waitForPeers(tabs: Tab[], kind: 'app' | 'stock'): Promise<void> {
  const expected = tabs.length - 1
  await Promise.all(
    tabs.map((tab) =>
      kind === 'app'
        ? tab.page.waitForFunction((n) => globalThis.edgeswarm?.peers().length === n, expected, { timeout: 30_000 })
        : tab.page.waitForFunction((n) => globalThis.stock.webrtcPeers() === n, expected, { timeout: 30_000 }),
    ),
  )
}

async function writeLatency(browser: Browser, relay: RelayProcess, kind: 'app' | 'stock', count: number): Promise<number[]> {
  const ref = freshRoom(`bench-${kind}-${count}`)
  const tabs: Tab[] = []
  for (let i = 0; i < count; i++) tabs.push(await (kind === 'app' ? openAppTab : openStockTab)(browser, relay, ref))
  try {
    await waitForPeers(tabs, kind)
    return await measureWrites(tabs, kind)
  } finally {
    await Promise.all(tabs.map((tab) => tab.close()))
  }
}

async function joinTimes(browser: Browser, relay: RelayProcess): Promise<{ ready: number[]; firstPeer: number[] }> {
  const ref = freshRoom('bench-join')
  const host = await openAppTab(browser, relay, ref)
  const ready: number[] = []
  const firstPeer: number[] = []
  try {
    for (let i = 0; i < joinSamples; i++) {
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
  } finally {
    await host.close()
  }
  return { ready, firstPeer }
}

async function idleConnectionBytes(count: number): Promise<{ perConnection: number; baseline: number }> {
  const relay = await startRelay({ RELAY_MAX_CONN_PER_IP: String(count + 10), RELAY_STATIC_DIR: 'dist' })
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const baseline = relay.rssBytes()
    const sockets: WebSocket[] = []
    for (let i = 0; i < count; i++) {
      const socket = new WebSocket(`${relay.url.replace('http', 'ws')}/signal`)
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve())
        socket.once('error', reject)
      })
      socket.send(JSON.stringify({ type: 'subscribe', topics: [`room-${i % 100}`] }))
      sockets.push(socket)
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const loaded = relay.rssBytes()
    for (const socket of sockets) socket.close()
    return { perConnection: (loaded - baseline) / count, baseline }
  } finally {
    await relay.stop()
  }
}

async function main(): Promise<void> {
  if (sections.has('room')) await benchRoom()
  // Each on its own: a failure here must not lose the figures already printed.
  if (sections.has('engine')) await benchEngine().catch((error: unknown) => console.error('engine bench failed:', error))
  if (sections.has('market')) await benchMarket().catch((error: unknown) => console.error('market bench failed:', error))
  if (sections.has('mesh')) await benchMesh()
  if (sections.has('trust')) await benchTrustCost().catch((error: unknown) => console.error('trust bench failed:', error))
  if (sections.has('relay')) await benchRelay().catch((error: unknown) => console.error('relay bench failed:', error))
  if (sections.has('micronets')) await benchMicronets().catch((error: unknown) => console.error('micronets bench failed:', error))
  if (sections.has('answers')) await benchMemoryAnswers().catch((error: unknown) => console.error('answers bench failed:', error))
  if (sections.has('context')) await benchContext().catch((error: unknown) => console.error('context bench failed:', error))
  if (sections.has('flood')) await benchFlood().catch((error: unknown) => console.error('flood bench failed:', error))
  if (sections.has('memory')) await benchMemorySearch().catch((error: unknown) => console.error('memory search bench failed:', error))
  if (sections.has('plan')) await benchPlan().catch((error: unknown) => console.error('plan bench failed:', error))
}

async function benchRoom(): Promise<void> {
  await buildStockBundle()
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist', RELAY_MAX_CONN_PER_IP: '1000' })
  const browser = await chromium.launch(chromiumLaunchOptions())
  console.log(`# edgeswarm bench — ${new Date().toISOString()} — node ${process.version}, ${browser.version()}`)
  try {
    const join = await joinTimes(browser, relay)
    table(
      'Joining a room (new tab; one peer already there)',
      ['figure', 'p50 ms', 'max ms', 'samples'],
      [
        ['page load → app ready', fmt(median(join.ready)), fmt(Math.max(...join.ready)), String(join.ready.length)],
        ['page load → first peer seen', fmt(median(join.firstPeer)), fmt(Math.max(...join.firstPeer)), String(join.firstPeer.length)],
      ],
    )

    const runs: [string, 'app' | 'stock', number][] = [
      ['stock y-webrtc, 2 pages', 'stock', 2],
      ['edgeswarm, 2 tabs', 'app', 2],
      ['stock y-webrtc, 3 pages', 'stock', 3],
      ['edgeswarm, 3 tabs', 'app', 3],
      ['stock y-webrtc, 6 pages', 'stock', 6],
      ['edgeswarm, 6 tabs', 'app', 6],
    ]
    const results = new Map<string, number[]>()
    const only = process.env.BENCH_ONLY
    for (const [label, kind, count] of runs) if (!only || label.includes(only) || label.startsWith('stock y-webrtc, 2')) results.set(label, await writeLatency(browser, relay, kind, count))
    const stockP50 = median(results.get('stock y-webrtc, 2 pages') ?? [])
    const stockP95 = percentile(results.get('stock y-webrtc, 2 pages') ?? [], 95)
    table(
      `Memory write → visible in every other tab (${writes} writes, one per ${writeIntervalMs} ms)`,
      ['setup', 'p50 ms', 'p95 ms', 'lost', 'p50 ÷ stock', 'p95 ÷ stock'],
      [...results].map(([label, latencies]) => {
        const seen = latencies.filter(Number.isFinite)
        return [label, fmt(median(seen), 2), fmt(percentile(seen, 95), 2), String(latencies.length - seen.length), fmt(median(seen) / stockP50, 2), fmt(percentile(seen, 95) / stockP95, 2)]
      }),
    )
  } finally {
    await browser.close()
    await relay.stop()
  }

  const idle = await idleConnectionBytes(1000)
  table(
    'Relay memory (separate process, RSS)',
    ['figure', 'value'],
    [
      ['baseline RSS', `${fmt(idle.baseline / 2 ** 20)} MiB`],
      ['per idle signaling connection (1000 open, 100 rooms)', `${fmt(idle.perConnection / 1024, 2)} KiB`],
    ],
  )
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})

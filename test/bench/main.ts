// `npm run bench`: figures measured side by side in one run; nothing here is asserted.
import { chromium, type Browser } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { freshRoom } from '../e2e/support/nodes'
import { buildStockBundle } from '../e2e/support/stock-bundle'
import { benchConsent } from './consent'
import { benchContext } from './context'
import { benchEmbeddings } from './embeddings'
import { benchEngine } from './engine'
import { benchFlood } from './flood'
import { benchMarket } from './market'
import { benchMarkdownPaint } from './markdown-paint'
import { benchMcp } from './mcp'
import { benchMemoryAnswers } from './memory-answers'
import { benchMesh } from './mesh'
import { benchTrustCost } from './market-before-after'
import { benchLedger } from './ledger'
import { benchMemorySearch } from './memory-search'
import { benchMicronets } from './micronets'
import { benchPerfAward } from './perf-award'
import { benchPerfDelivery } from './perf-delivery'
import { benchPerfEngine } from './perf-engine'
import { benchPerfFailover } from './perf-failover'
import { benchPerfMemory } from './perf-memory'
import { benchPlan } from './plan'
import { benchRelay } from './relay-v1'
import { benchReplica } from './replica'
import { benchRooms } from './rooms'
import { benchTurn } from './turn'
import { benchVerified } from './verified'
import { startRelay, type RelayProcess } from './relay-process'
import { measureWrites, openAppTab, openStockTab, timeJoins, waitForPeers, type JoinTimes, type Tab } from './room-tabs'
import { benchRelays, signalingConnectionBytes } from './relays'
import { fmt, median, percentile, table } from './stats'

const writes = Number(process.env.BENCH_WRITES ?? 200)
const writeIntervalMs = 40
const joinSamples = 5
/** Issue 16's before/after figures; `perf` in BENCH_SECTIONS picks all five. */
const perfSections = ['perf-memory', 'perf-delivery', 'perf-failover', 'perf-award', 'perf-engine']
const sections = new Set(
  (process.env.BENCH_SECTIONS ?? 'perf,room,relays,engine,market,mesh,trust,ledger,relay,turn,replica,micronets,flood,memory,answers,context,plan,rooms,markdown,consent,mcp,embeddings,verified')
    .split(',')
    .map((name) => name.trim())
    .flatMap((name) => (name === 'perf' ? perfSections : [name])),
)

async function writeLatency(browser: Browser, relay: RelayProcess, kind: 'app' | 'stock', count: number): Promise<number[]> {
  const ref = freshRoom(`bench-${kind}-${count}`)
  const tabs: Tab[] = []
  for (let i = 0; i < count; i++) tabs.push(await (kind === 'app' ? openAppTab : openStockTab)(browser, relay, ref))
  try {
    await waitForPeers(tabs, kind)
    return await measureWrites(tabs, kind, writes, writeIntervalMs)
  } finally {
    await Promise.all(tabs.map((tab) => tab.close()))
  }
}

async function joinTimes(browser: Browser, relay: RelayProcess): Promise<JoinTimes> {
  const ref = freshRoom('bench-join')
  const host = await openAppTab(browser, relay, ref)
  try {
    return await timeJoins(browser, relay, ref, joinSamples)
  } finally {
    await host.close()
  }
}

async function main(): Promise<void> {
  if (sections.has('perf-memory')) await benchPerfMemory().catch((error: unknown) => console.error('perf-memory bench failed:', error))
  if (sections.has('perf-delivery')) await benchPerfDelivery().catch((error: unknown) => console.error('perf-delivery bench failed:', error))
  if (sections.has('perf-failover')) await benchPerfFailover().catch((error: unknown) => console.error('perf-failover bench failed:', error))
  if (sections.has('perf-award')) await benchPerfAward().catch((error: unknown) => console.error('perf-award bench failed:', error))
  if (sections.has('perf-engine')) await benchPerfEngine().catch((error: unknown) => console.error('perf-engine bench failed:', error))
  if (sections.has('room')) await benchRoom()
  if (sections.has('relays')) await benchRelays(writes, writeIntervalMs).catch((error: unknown) => console.error('relays bench failed:', error))
  // Each on its own: a failure here must not lose the figures already printed.
  if (sections.has('engine')) await benchEngine().catch((error: unknown) => console.error('engine bench failed:', error))
  if (sections.has('market')) await benchMarket().catch((error: unknown) => console.error('market bench failed:', error))
  if (sections.has('mesh')) await benchMesh().catch((error: unknown) => console.error('mesh bench failed:', error))
  if (sections.has('trust')) await benchTrustCost().catch((error: unknown) => console.error('trust bench failed:', error))
  if (sections.has('ledger')) await benchLedger().catch((error: unknown) => console.error('ledger bench failed:', error))
  if (sections.has('relay')) await benchRelay().catch((error: unknown) => console.error('relay bench failed:', error))
  if (sections.has('replica')) await benchReplica().catch((error: unknown) => console.error('replica bench failed:', error))
  if (sections.has('turn')) await benchTurn().catch((error: unknown) => console.error('turn bench failed:', error))
  if (sections.has('micronets')) await benchMicronets().catch((error: unknown) => console.error('micronets bench failed:', error))
  if (sections.has('answers')) await benchMemoryAnswers().catch((error: unknown) => console.error('answers bench failed:', error))
  if (sections.has('context')) await benchContext().catch((error: unknown) => console.error('context bench failed:', error))
  if (sections.has('flood')) await benchFlood().catch((error: unknown) => console.error('flood bench failed:', error))
  if (sections.has('memory')) await benchMemorySearch().catch((error: unknown) => console.error('memory search bench failed:', error))
  if (sections.has('plan')) await benchPlan().catch((error: unknown) => console.error('plan bench failed:', error))
  if (sections.has('rooms')) await benchRooms().catch((error: unknown) => console.error('rooms bench failed:', error))
  if (sections.has('markdown')) await benchMarkdownPaint().catch((error: unknown) => console.error('markdown bench failed:', error))
  if (sections.has('consent')) await benchConsent().catch((error: unknown) => console.error('consent bench failed:', error))
  if (sections.has('mcp')) await benchMcp().catch((error: unknown) => console.error('mcp bench failed:', error))
  if (sections.has('embeddings')) await benchEmbeddings().catch((error: unknown) => console.error('embeddings bench failed:', error))
  if (sections.has('verified')) await benchVerified().catch((error: unknown) => console.error('verified bench failed:', error))
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

  const idle = await signalingConnectionBytes(1000)
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

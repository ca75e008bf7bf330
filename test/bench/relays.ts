// Past one relay (issue 13): a room's tabs on two relays sharing Redis against the same room on
// one relay (join → first peer, memory write → visible), and what a signaling connection costs
// a relay with Redis on and off. Loopback only; a real redis-server of its own.
import { chromium, type Browser } from '@playwright/test'
import { WebSocket } from 'ws'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { freshRoom } from '../e2e/support/nodes'
import { startRedisServer } from '../unit/relay-cluster/redis-server'
import { startRelay, type RelayProcess } from './relay-process'
import { measureWrites, openAppTab, timeJoins, waitForPeers, type Tab } from './room-tabs'
import { fmt, median, percentile, table } from './stats'

const joinSamples = 5
const signalingSockets = 500

/** RSS growth per open signaling connection (each subscribed to one of 100 rooms), in a fresh relay process. */
export async function signalingConnectionBytes(count: number, env: Record<string, string> = {}): Promise<{ perConnection: number; baseline: number }> {
  const relay = await startRelay({ RELAY_MAX_CONN_PER_IP: String(count + 10), RELAY_STATIC_DIR: 'dist', ...env })
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

interface RoomFigures {
  firstPeer: number[]
  writes: number[]
}

/** A host tab on `hostRelay`; new tabs join through `joinRelay` (join → first peer), then one stays for the writes. */
async function measureRoom(browser: Browser, hostRelay: RelayProcess, joinRelay: RelayProcess, writes: number, writeIntervalMs: number): Promise<RoomFigures> {
  const ref = freshRoom('bench-relays')
  const host = await openAppTab(browser, hostRelay, ref)
  try {
    const { firstPeer } = await timeJoins(browser, joinRelay, ref, joinSamples)
    // The host lists departed joiners until its peer timeout; a fresh room for the writes.
    const writeRef = freshRoom('bench-relays-writes')
    const tabs: Tab[] = [await openAppTab(browser, hostRelay, writeRef), await openAppTab(browser, joinRelay, writeRef)]
    try {
      await waitForPeers(tabs, 'app')
      return { firstPeer, writes: await measureWrites(tabs, 'app', writes, writeIntervalMs) }
    } finally {
      await Promise.all(tabs.map((tab) => tab.close()))
    }
  } finally {
    await host.close()
  }
}

export async function benchRelays(writes: number, writeIntervalMs: number): Promise<void> {
  const redis = await startRedisServer()
  const started: RelayProcess[] = []
  const browser = await chromium.launch(chromiumLaunchOptions())
  const rows: string[][] = []
  try {
    const single = await startRelay({ RELAY_STATIC_DIR: 'dist', RELAY_MAX_CONN_PER_IP: '1000' })
    started.push(single)
    const shared = { RELAY_STATIC_DIR: 'dist', RELAY_MAX_CONN_PER_IP: '1000', RELAY_REDIS_URL: redis.url }
    const relayA = await startRelay({ ...shared, RELAY_INSTANCE_ID: 'bench-a' })
    started.push(relayA)
    const relayB = await startRelay({ ...shared, RELAY_INSTANCE_ID: 'bench-b' })
    started.push(relayB)
    for (const [label, host, join] of [
      ['one relay', single, single],
      ['two relays, Redis (tabs on different relays)', relayA, relayB],
    ] as const) {
      const figures = await measureRoom(browser, host, join, writes, writeIntervalMs)
      const seen = figures.writes.filter(Number.isFinite)
      rows.push([label, fmt(median(figures.firstPeer)), fmt(Math.max(...figures.firstPeer)), fmt(median(seen), 2), fmt(percentile(seen, 95), 2), String(figures.writes.length - seen.length)])
    }
  } finally {
    await browser.close()
    for (const relay of started) await relay.stop()
  }
  table(
    `One relay vs two relays sharing Redis (join: ${joinSamples} new tabs, one peer there; writes: ${writes}, one per ${writeIntervalMs} ms, 2 tabs)`,
    ['setup', 'join → first peer p50 ms', 'max ms', 'write → visible p50 ms', 'p95 ms', 'lost'],
    rows,
  )
  try {
    const alone = await signalingConnectionBytes(signalingSockets)
    const withRedis = await signalingConnectionBytes(signalingSockets, { RELAY_REDIS_URL: redis.url })
    table(
      `Relay RSS per signaling connection (${signalingSockets} open, 100 rooms; separate process)`,
      ['setup', 'baseline RSS MiB', 'per connection KiB'],
      [
        ['no Redis', fmt(alone.baseline / 2 ** 20), fmt(alone.perConnection / 1024, 2)],
        ['RELAY_REDIS_URL set', fmt(withRedis.baseline / 2 ** 20), fmt(withRedis.perConnection / 1024, 2)],
      ],
    )
  } finally {
    await redis.dispose()
  }
}

// Where an app tab's time goes: N tabs of one room, a reader tab profiled (V8 sampling profiler over
// the Chrome DevTools Protocol) while another writes memory entries, and every tab's main-thread
// busy time at idle and under writes (Performance.getMetrics). A tool, not a bench section:
// `npm run build && node --import tsx test/bench/tab-profile.ts [tabs] [writes]`.
import { chromium, type CDPSession } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { freshRoom } from '../e2e/support/nodes'
import { startRelay } from './relay-process'
import { busyMetrics, busyOver, metricSessions, type Busy } from './main-thread'
import { measureWrites, openAppTab, waitForPeers, type Tab } from './room-tabs'
import { fmt, median, percentile, table } from './stats'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Each tab's main-thread time (ms per second of wall time) over `run`. */
async function busy(sessions: CDPSession[], run: () => Promise<unknown>): Promise<Busy[]> {
  const { busy, seconds } = await busyOver(sessions, run)
  return busy.map((tab) => Object.fromEntries(busyMetrics.map((name) => [name, tab[name] / seconds])) as Busy)
}

function shortUrl(url: string): string {
  const path = url.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '')
  return path.length > 60 ? `…${path.slice(-59)}` : path || '(native)'
}

/** Self time by function, the top `count`. */
function topSelf(profile: Profile, count: number): string[][] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)
    const delta = (profile.timeDeltas[i] ?? 0) / 1000
    total += delta
    if (!node) return
    const { functionName, url, lineNumber } = node.callFrame
    const key = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`
    self.set(key, (self.get(key) ?? 0) + delta)
  })
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, ms]) => [key, fmt(ms, 1), `${fmt((100 * ms) / total, 1)} %`])
}

interface TraceEvent {
  name: string
  ph: string
  ts: number
  dur?: number
  pid: number
  tid: number
  args?: { name?: string }
}

/** Self time by event name on the renderers' main threads (complete events only). */
function traceSelf(buffer: Buffer, count: number): string[][] {
  const events = (JSON.parse(buffer.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents
  const mains = new Set(events.filter((event) => event.name === 'thread_name' && event.args?.name === 'CrRendererMain').map((event) => `${event.pid}:${event.tid}`))
  const byThread = new Map<string, TraceEvent[]>()
  for (const event of events) {
    const key = `${event.pid}:${event.tid}`
    if (event.ph !== 'X' || event.dur === undefined || !mains.has(key)) continue
    byThread.set(key, [...(byThread.get(key) ?? []), event])
  }
  const self = new Map<string, number>()
  let total = 0
  for (const list of byThread.values()) {
    list.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0))
    const stack: { end: number; name: string }[] = []
    for (const event of list) {
      const end = event.ts + (event.dur ?? 0)
      while (stack.length && (stack[stack.length - 1]?.end ?? 0) <= event.ts) stack.pop()
      const parent = stack[stack.length - 1]
      if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - (event.dur ?? 0) / 1000)
      else total += (event.dur ?? 0) / 1000
      self.set(event.name, (self.get(event.name) ?? 0) + (event.dur ?? 0) / 1000)
      stack.push({ end, name: event.name })
    }
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => [name, fmt(ms, 1), `${fmt((100 * ms) / total, 1)} %`])
}

/** Total (self and callees) time by function, the top `count`: each sample counts once per function on its stack. */
function topTotal(profile: Profile, count: number): string[][] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const totals = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const delta = (profile.timeDeltas[i] ?? 0) / 1000
    total += delta
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)
      if (!node) break
      const { functionName, url, lineNumber } = node.callFrame
      if (functionName === '(root)' || functionName === '(idle)' || functionName === '(program)') continue
      seen.add(`${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`)
    }
    for (const key of seen) totals.set(key, (totals.get(key) ?? 0) + delta)
  })
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, ms]) => [key, fmt(ms, 1), `${fmt((100 * ms) / total, 1)} %`])
}

const tabs = Number(process.argv[2] ?? 6)
const writes = Number(process.argv[3] ?? 100)
const relay = await startRelay({ RELAY_STATIC_DIR: process.env.PROFILE_DIST ?? 'dist', RELAY_MAX_CONN_PER_IP: '1000' })
const browser = await chromium.launch(chromiumLaunchOptions())
const open: Tab[] = []
try {
  const ref = freshRoom(`profile-${tabs}`)
  for (let i = 0; i < tabs; i++) open.push(await openAppTab(browser, relay, ref))
  await waitForPeers(open, 'app')
  await new Promise((resolve) => setTimeout(resolve, 3_000))
  const sessions = await metricSessions(open.map((tab) => tab.page))
  const reader = sessions[tabs - 1]
  if (!reader) throw new Error('no reader tab')
  await reader.send('Profiler.enable')
  await reader.send('Profiler.setSamplingInterval', { interval: 200 })

  await reader.send('Profiler.start')
  const idle = await busy(sessions, () => new Promise((resolve) => setTimeout(resolve, 10_000)))
  const idleProfile = ((await reader.send('Profiler.stop')) as { profile: Profile }).profile
  table(
    `Idle tab, ${tabs} tabs in the room (10 s): main-thread ms per s`,
    ['tab', ...busyMetrics],
    idle.map((row, i) => [String(i), ...busyMetrics.map((name) => fmt(row[name], 1))]),
  )
  table('Idle reader tab: self time by function (top 20)', ['function', 'ms', 'share'], topSelf(idleProfile, 20))

  const readerPage = open[tabs - 1]?.page
  if (process.env.PROFILE_TRACE && readerPage) await browser.startTracing(readerPage, { categories: ['devtools.timeline', 'toplevel', 'v8', 'blink', 'disabled-by-default-devtools.timeline'] })
  await reader.send('Profiler.start')
  let latencies: number[] = []
  const loaded = await busy(sessions, async () => (latencies = await measureWrites(open, 'app', writes, 40)))
  const writeProfile = ((await reader.send('Profiler.stop')) as { profile: Profile }).profile
  if (process.env.PROFILE_TRACE) table('Renderer main threads under writes: self time by trace event (all tabs, top 25)', ['event', 'ms', 'share'], traceSelf(await browser.stopTracing(), 25))
  const seen = latencies.filter(Number.isFinite)
  console.log(`write → seen by all: p50 ${fmt(median(seen), 2)} ms, p95 ${fmt(percentile(seen, 95), 2)} ms, lost ${latencies.length - seen.length}`)
  table(
    `Under writes (${writes}, one per 40 ms, tab 0 writes): main-thread ms per s`,
    ['tab', ...busyMetrics],
    loaded.map((row, i) => [String(i), ...busyMetrics.map((name) => fmt(row[name], 1))]),
  )
  table('Reader tab under writes: self time by function (top 30)', ['function', 'ms', 'share'], topSelf(writeProfile, 30))
  table('Reader tab under writes: total time by function (top 40)', ['function', 'ms', 'share'], topTotal(writeProfile, 40))
} finally {
  for (const tab of open) await tab.close()
  await browser.close()
  await relay.stop()
}

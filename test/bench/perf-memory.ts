// Issue 16 ("fast at room scale"), part 1: memory write → visible in every other tab for stock
// y-webrtc pages, the same pages signing and verifying each entry (the floor the contract's
// signatures set), the app before the issue and this tree's app, side by side in one run, and
// where this tree's time goes (sign, encode, network, apply, verify, persist, render).
// Run alone with `BENCH_SECTIONS=perf-memory npm run bench`.
import { chromium, type Browser } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { freshRoom } from '../e2e/support/nodes'
import { buildStockBundle } from '../e2e/support/stock-bundle'
import type { PhaseFigures } from '../../src/shared/phases'
import { builtTreeOf, perfBeforeRef, startRelayOf } from './before-tree'
import { busyOver, metricSessions, type Busy } from './main-thread'
import { startRelay, type RelayProcess } from './relay-process'
import { openAppTab, openStockTab, runWrites, waitForPeers, type Tab, type WriteRun } from './room-tabs'
import { fmt, median, percentile, table } from './stats'

const writes = Number(process.env.BENCH_WRITES ?? 200)
const writeIntervalMs = 40
const tabCounts = (process.env.BENCH_MEMORY_TABS ?? '2,3,6').split(',').map(Number)

/** What the probe notes in a page, per write index (`bench-<i>` in the bytes): times on the shared clock. */
interface ProbeNotes {
  /** The first data-channel send carrying the write. */
  sent: Record<string, number>
  /** The first data-channel message carrying it, when its handler started and returned. */
  received: Record<string, number>
  handled: Record<string, number>
  /** An IndexedDB transaction that wrote bytes carrying it completed. */
  stored: Record<string, number>
  /** A DOM node carrying its text was added. */
  shown: Record<string, number>
  /** Data-channel sends and messages carrying a write, every copy counted (relays included). */
  copies: { sent: number; received: number }
}

/**
 * Runs in every page of the bench (stock, before and after alike, so its small cost falls on all)
 * before the page's own scripts: notes when bytes carrying `bench-<i>` cross a data channel, are
 * written to IndexedDB, and when a DOM node with that text is added. y-webrtc sends Yjs updates
 * over the data channel unencrypted (DTLS does it), so the entry's text is in the bytes.
 */
function installMemoryProbe(): void {
  const now = (): number => performance.timeOrigin + performance.now()
  const notes: ProbeNotes = { sent: {}, received: {}, handled: {}, stored: {}, shown: {}, copies: { sent: 0, received: 0 } }
  Object.assign(globalThis, { memoryProbe: notes })
  const decoder = new TextDecoder('latin1')
  const marker = /bench-(\d+)/g
  const writesIn = (data: unknown): string[] => {
    let text: string
    if (typeof data === 'string') text = data
    else if (data instanceof ArrayBuffer) text = decoder.decode(new Uint8Array(data))
    else if (ArrayBuffer.isView(data)) text = decoder.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    else return []
    return text.includes('bench-') ? [...text.matchAll(marker)].map((match) => match[1] ?? '') : []
  }
  const channel = RTCDataChannel.prototype
  const originalSend = Reflect.get(channel, 'send') as (this: RTCDataChannel, data: unknown) => void
  channel.send = function (this: RTCDataChannel, data: unknown): void {
    const at = now()
    const found = writesIn(data)
    if (found.length > 0) notes.copies.sent++
    for (const i of found) notes.sent[i] ??= at
    originalSend.call(this, data)
  }
  // Read as plain values: the descriptor's get and set are called on each channel below.
  const onmessage: { get?: unknown; set?: unknown; enumerable?: boolean } = Object.getOwnPropertyDescriptor(channel, 'onmessage') ?? {}
  const { get, set } = onmessage
  if (typeof get === 'function' && typeof set === 'function') {
    Object.defineProperty(channel, 'onmessage', {
      configurable: true,
      enumerable: onmessage.enumerable ?? true,
      get(this: RTCDataChannel): unknown {
        return get.call(this)
      },
      set(this: RTCDataChannel, handler: unknown): void {
        if (typeof handler !== 'function') {
          set.call(this, handler)
          return
        }
        set.call(this, function (this: RTCDataChannel, event: MessageEvent) {
          const at = now()
          const found = writesIn(event.data)
          if (found.length > 0) notes.copies.received++
          for (const i of found) notes.received[i] ??= at
          try {
            return (handler as (event: MessageEvent) => unknown).call(this, event)
          } finally {
            const done = now()
            for (const i of found) notes.handled[i] ??= done
          }
        })
      },
    })
  }
  for (const name of ['add', 'put'] as const) {
    const original = Reflect.get(IDBObjectStore.prototype, name) as (this: IDBObjectStore, value: unknown, key?: IDBValidKey) => IDBRequest
    IDBObjectStore.prototype[name] = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey): IDBRequest {
      const request = original.call(this, value, key)
      const found = value instanceof Uint8Array ? writesIn(value) : []
      if (found.length > 0)
        request.transaction?.addEventListener('complete', () => {
          const at = now()
          for (const i of found) notes.stored[i] ??= at
        })
      return request
    } as IDBObjectStore['put']
  }
  const watchDom = (): void =>
    new MutationObserver((records) => {
      const at = now()
      for (const record of records)
        for (const added of record.addedNodes) {
          // Text node by text node: a row's textContent runs the entry's text into the author's id.
          const walker = document.createTreeWalker(added, NodeFilter.SHOW_TEXT)
          for (let text = added.nodeType === Node.TEXT_NODE ? added : walker.nextNode(); text; text = walker.nextNode()) {
            const i = /^bench-(\d+)$/.exec(text.nodeValue ?? '')?.[1]
            if (i !== undefined) notes.shown[i] ??= at
          }
        }
    }).observe(document, { childList: true, subtree: true })
  watchDom()
}

/** The probe as a page script: tsx names functions with a `__name` helper the page lacks. */
export const memoryProbeScript = `var __name = (target) => target; (${installMemoryProbe.toString()})()`

interface TabNotes {
  probe: ProbeNotes
  /** The store's marks by entry id: signed (writer), seen and accepted. */
  marks: Record<string, Record<string, number>>
  figures: Partial<Record<string, PhaseFigures>>
}

async function notesOf(tab: Tab): Promise<TabNotes> {
  return tab.page.evaluate(() => ({
    probe: (globalThis as unknown as { memoryProbe: ProbeNotes }).memoryProbe,
    marks: globalThis.edgeswarmPhases?.memory.marks() ?? {},
    figures: globalThis.edgeswarmPhases?.memory.snapshot() ?? {},
  }))
}

/**
 * stock: stock y-webrtc pages setting a plain value; signed: the same pages writing entries signed
 * as the contract says (WebCrypto Ed25519) and seen once a reader's libsodium check passed, nothing
 * else: the floor that signing and verifying every entry puts under any reader; before and after:
 * the app.
 */
type Setup = 'stock' | 'signed' | 'before' | 'after'
const setups: readonly Setup[] = ['stock', 'signed', 'before', 'after']

interface Measured {
  run: WriteRun
  /** Each tab's main-thread time over the writes (the writer first). */
  busy: Busy[]
  /** Copies of the writes sent and received over data channels, all tabs together. */
  copies: { sent: number; received: number }
  /** This tree's tabs and the stock pages (their probe notes only): the writer's notes and each reader's. */
  writer?: TabNotes
  readers?: TabNotes[]
}

async function measure(browser: Browser, relay: RelayProcess, setup: Setup, count: number): Promise<Measured> {
  const ref = freshRoom(`perf-memory-${setup}-${count}`)
  const kind = setup === 'before' || setup === 'after' ? 'app' : setup
  const tabs: Tab[] = []
  try {
    for (let i = 0; i < count; i++) tabs.push(await (kind === 'app' ? openAppTab : openStockTab)(browser, relay, ref, memoryProbeScript))
    await waitForPeers(tabs, kind)
    if (setup === 'after') await Promise.all(tabs.map((tab) => tab.page.evaluate(() => globalThis.edgeswarmPhases?.memory.reset())))
    const sessions = await metricSessions(tabs.map((tab) => tab.page))
    const { result: run, busy } = await busyOver(sessions, () => runWrites(tabs, kind, writes, writeIntervalMs))
    const counted = await Promise.all(tabs.map((tab) => tab.page.evaluate(() => (globalThis as unknown as { memoryProbe: ProbeNotes }).memoryProbe.copies)))
    const copies = { sent: counted.reduce((sum, tab) => sum + tab.sent, 0), received: counted.reduce((sum, tab) => sum + tab.received, 0) }
    if (setup === 'before') return { run, busy, copies }
    const [writer, ...readers] = await Promise.all(tabs.map(notesOf))
    return { run, busy, copies, ...(writer ? { writer } : {}), readers }
  } finally {
    await Promise.all(tabs.map((tab) => tab.close()))
  }
}

const phaseRows: [string, string][] = [
  ['sign', 'writer: memory.add called → entry signed (Ed25519 over the payload; id and draft checks)'],
  ['encode', 'writer: signed → first data-channel send carrying it (Yjs transaction and update encoding, the writer’s own doc observers, y-webrtc framing)'],
  ['network', 'writer’s send → reader’s data-channel message (WebRTC, cross-tab clock)'],
  ['apply', 'reader: message handler start → return (guard, Yjs decode and integrate, the store’s observer, y-indexeddb queueing the write, y-webrtc relaying it)'],
  ['verify', 'reader: handler return → store accepted the version (the cheap checks and the signature check, libsodium in WebAssembly, with the microtasks in between)'],
  ['render', 'reader: accepted → the entry’s row added to the DOM (the memory view’s frame)'],
  ['persist', 'reader: handler return → IndexedDB transaction with the update complete (off the path to the screen)'],
]

/** Per write and reader, the phases of this tree's write path, in ms. */
function breakdown(measured: Measured): Record<string, number[]> {
  const phases: Record<string, number[]> = { sign: [], encode: [], network: [], apply: [], verify: [], render: [], persist: [], total: [] }
  const { run, writer, readers = [] } = measured
  if (!writer) return phases
  const push = (phase: string, from: number | undefined, to: number | undefined): void => {
    if (from !== undefined && to !== undefined) phases[phase]?.push(to - from)
  }
  run.ids.forEach((id, index) => {
    const i = String(index)
    const started = run.startedAt[index]
    const signed = writer.marks[id]?.signed
    const sent = writer.probe.sent[i]
    push('sign', started, signed)
    push('encode', signed, sent)
    for (const reader of readers) {
      const { received, handled, stored, shown } = reader.probe
      const accepted = reader.marks[id]?.accepted
      push('network', sent, received[i])
      push('apply', received[i], handled[i])
      push('verify', handled[i], accepted)
      push('render', accepted, shown[i])
      push('persist', handled[i], stored[i])
      push('total', started, shown[i])
    }
  })
  return phases
}

/**
 * Per write and reader, from the probe alone (so for stock pages too), in ms: network, the
 * writer's first send → the reader's first message carrying it; apply, that message's handler
 * start → return.
 */
function probePhasesOf(measured: Measured): { network: number[]; apply: number[] } {
  const phases = { network: [] as number[], apply: [] as number[] }
  const { run, writer, readers = [] } = measured
  if (!writer) return phases
  run.startedAt.forEach((_started, index) => {
    const i = String(index)
    const sent = writer.probe.sent[i]
    for (const { probe } of readers) {
      const received = probe.received[i]
      const handled = probe.handled[i]
      if (sent !== undefined && received !== undefined) phases.network.push(received - sent)
      if (received !== undefined && handled !== undefined) phases.apply.push(handled - received)
    }
  })
  return phases
}

export async function benchPerfMemory(): Promise<void> {
  await buildStockBundle()
  const beforeDir = builtTreeOf(perfBeforeRef)
  const env = { RELAY_MAX_CONN_PER_IP: '1000' }
  const relays: Record<Setup, RelayProcess> = {
    stock: await startRelay({ RELAY_STATIC_DIR: 'dist', ...env }),
    signed: await startRelay({ RELAY_STATIC_DIR: 'dist', ...env }),
    before: await startRelayOf(beforeDir, env),
    after: await startRelay({ RELAY_STATIC_DIR: 'dist', ...env }),
  }
  const browser = await chromium.launch(chromiumLaunchOptions())
  const results = new Map<string, Measured>()
  try {
    for (const count of tabCounts)
      for (const setup of setups) {
        results.set(`${setup} ${count}`, await measure(browser, relays[setup], setup, count))
      }
  } finally {
    await browser.close()
    await Promise.all(Object.values(relays).map((relay) => relay.stop()))
  }

  const label: Record<Setup, string> = { stock: 'stock y-webrtc', signed: 'stock y-webrtc + signatures', before: `edgeswarm before (${perfBeforeRef})`, after: 'edgeswarm now' }
  /** The latencies of the writes every other tab saw (a lost write has none). */
  const seenIn = (setup: Setup, count: number): number[] => (results.get(`${setup} ${count}`)?.run.latencies ?? []).filter(Number.isFinite)
  const rows: string[][] = []
  for (const count of tabCounts) {
    const stock = seenIn('stock', count)
    for (const setup of setups) {
      const latencies = results.get(`${setup} ${count}`)?.run.latencies ?? []
      const seen = seenIn(setup, count)
      rows.push([
        `${label[setup]}, ${count} tabs`,
        fmt(median(seen), 2),
        fmt(percentile(seen, 95), 2),
        String(latencies.length - seen.length),
        fmt(median(seen) / median(stock), 2),
        fmt(percentile(seen, 95) / percentile(stock, 95), 2),
      ])
    }
  }
  console.log(
    '\nperf-memory: the first tab writes a memory entry every ' +
      `${writeIntervalMs} ms (${writes} writes); a write's latency is from the writer's call (memory.add, or a Y.Map set on the stock pages) ` +
      "to the last other tab's 'memory' event carrying it (stock: its Y.Map observer), on the clock all tabs share. Each setup runs its own relay; the ratios are to stock at the same tab count.",
  )
  table(`perf-memory: write → visible in every other tab (${writes} writes, one per ${writeIntervalMs} ms)`, ['setup', 'p50 ms', 'p95 ms', 'lost', 'p50 ÷ stock', 'p95 ÷ stock'], rows)

  const ratio = (of: number[], to: number[], at: (samples: number[]) => number): string => fmt(at(of) / at(to), 2)
  const p95 = (samples: number[]): number => percentile(samples, 95)
  console.log(
    "\nThe signed floor: stock pages that sign each entry as the contract says (WebCrypto Ed25519, the writer's key made before the first write) and " +
      "whose readers count it seen once libsodium's check of it passed, with none of the app's other work. What signing and verifying alone add to stock, and how far this tree's app is above that.",
  )
  table(
    'perf-memory: against the signed floor',
    ['tabs', 'signed ÷ stock p50', 'signed ÷ stock p95', 'now ÷ signed p50', 'now ÷ signed p95'],
    tabCounts.map((count) => {
      const [stock, signed, now] = [seenIn('stock', count), seenIn('signed', count), seenIn('after', count)]
      return [String(count), ratio(signed, stock, median), ratio(signed, stock, p95), ratio(now, signed, median), ratio(now, signed, p95)]
    }),
  )

  table(
    'perf-memory: copies of each write over the data channels (all tabs; stock y-webrtc relays every update it applies to every link)',
    ['setup', 'sent per write', 'received per write'],
    tabCounts.flatMap((count) =>
      setups.map((setup) => {
        const copies = results.get(`${setup} ${count}`)?.copies
        return [`${label[setup]}, ${count} tabs`, fmt((copies?.sent ?? 0) / writes, 2), fmt((copies?.received ?? 0) / writes, 2)]
      }),
    ),
  )

  const perWrite = (ms: number): string => fmt(ms / writes, 2)
  const meanOf = (tabs: Busy[], pick: (tab: Busy) => number): number => tabs.reduce((sum, tab) => sum + pick(tab), 0) / Math.max(1, tabs.length)
  console.log(
    "\nMain-thread time per write, from Chrome's own counters over the run (all the work of a tab: the sync, the checks, the views and their frames, " +
      'timers). Six tabs on two cores share them, so a tab that is busier per write delays every other tab: at six tabs this, more than the path of one write, sets the latency.',
  )
  table(
    'perf-memory: main-thread ms per write (the writer, and the mean reader)',
    ['setup', 'writer busy', 'reader busy', 'reader script', 'reader style + layout'],
    tabCounts.flatMap((count) =>
      setups.map((setup) => {
        const [writer, ...readers] = results.get(`${setup} ${count}`)?.busy ?? []
        return [
          `${label[setup]}, ${count} tabs`,
          perWrite(writer?.TaskDuration ?? NaN),
          perWrite(meanOf(readers, (tab) => tab.TaskDuration)),
          perWrite(meanOf(readers, (tab) => tab.ScriptDuration)),
          perWrite(meanOf(readers, (tab) => tab.LayoutDuration + tab.RecalcStyleDuration)),
        ]
      }),
    ),
  )

  console.log("\nWhere this tree's time goes, per write and reader tab (every reader's figures pooled). The phases are:")
  for (const [phase, what] of phaseRows) console.log(`- ${phase}: ${what}`)
  console.log('- total: memory.add called → the row in the DOM of that reader (persist runs beside it, not in it)')
  for (const count of tabCounts) {
    const measured = results.get(`after ${count}`)
    if (!measured) continue
    const phases = breakdown(measured)
    const pageFigures = [measured.writer, ...(measured.readers ?? [])].flatMap((notes) => (notes ? [notes.figures] : []))
    const verifyCalls = pageFigures.reduce((sum, figures) => sum + (figures.verify?.count ?? 0), 0)
    table(
      `perf-memory: time breakdown, edgeswarm now, ${count} tabs`,
      ['phase', 'p50 ms', 'p95 ms', 'mean ms', 'max ms', 'samples'],
      [...phaseRows.map(([phase]) => phase), 'total'].map((phase) => {
        const samples = phases[phase] ?? []
        const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length
        return [phase, fmt(median(samples), 2), fmt(percentile(samples, 95), 2), fmt(mean, 2), fmt(Math.max(...samples), 2), String(samples.length)]
      }),
    )
    console.log(`(the stores' own count of verifications in these ${count} tabs: ${verifyCalls})`)
    const stock = results.get(`stock ${count}`)
    if (stock) {
      const { network, apply } = probePhasesOf(stock)
      const figure = (samples: number[]): string => `p50 ${fmt(median(samples), 2)} ms, p95 ${fmt(percentile(samples, 95), 2)} ms`
      console.log(`(stock y-webrtc, ${count} tabs, the same probe, ${network.length} samples: network ${figure(network)}; apply ${figure(apply)})`)
    }
  }
}

// What a /signal flood costs the relay (issue 10): its RSS and CPU while flooders publish as
// fast as their sockets take, with the per-connection limits on (the defaults) and off, and
// whether /healthz and a reading subscriber keep going. Loopback only; bounded in time.
import { readFileSync } from 'node:fs'
import { WebSocket } from 'ws'
import { startRelay, type RelayProcess } from './relay-process'
import { fmt, median, percentile, table } from './stats'

const floodMs = Number(process.env.BENCH_FLOOD_MS ?? 8_000)
const flooderCount = 8
const readerCount = 4
const sampleMs = 250
const maxBufferedBytes = 256 * 1024
const clockTicksPerS = 100
const topic = 'flood-room'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** utime + stime of `pid`, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerS
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.on('error', () => undefined)
    ws.once('open', () => resolve(ws))
    ws.once('close', () => reject(new Error('closed before it opened')))
  })
}

/** lib0's varUint (unsigned LEB128). */
function varUint(value: number): number[] {
  const bytes: number[] = []
  let rest = value
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80)
    rest = Math.floor(rest / 128)
  }
  bytes.push(rest)
  return bytes
}

/** A y-webrtc envelope of `bytes` cipher bytes (the relay checks its shape only). */
function envelope(bytes: number): string {
  return Buffer.from([7, ...Buffer.from('AES-GCM'), 12, ...Array<number>(12).fill(1), ...varUint(bytes), ...Array<number>(bytes).fill(2)]).toString('base64')
}

interface FloodFigures {
  cpuPercent: number
  baselineRssMiB: number
  peakRssMiB: number
  sentFrames: number
  sentMiB: number
  closes: number
  delivered: number
  healthP50Ms: number
  healthMaxMs: number
  readersOpen: number
}

async function flood(relay: RelayProcess): Promise<FloodFigures> {
  const signalUrl = `${relay.url.replace('http', 'ws')}/signal`
  await sleep(1_000)
  const baselineRss = relay.rssBytes()
  let delivered = 0
  const readers = await Promise.all(Array.from({ length: readerCount }, () => open(signalUrl)))
  for (const reader of readers) {
    reader.on('message', () => (delivered += 1))
    reader.send(JSON.stringify({ type: 'subscribe', topics: [topic] }))
  }
  await sleep(200)
  const small = JSON.stringify({ type: 'publish', topic, data: { type: 'announce', from: 'flooder' } })
  const large = JSON.stringify({ type: 'publish', topic, data: envelope(16 * 1024) })
  let sentFrames = 0
  let sentBytes = 0
  let closes = 0
  const endsAtMs = Date.now() + floodMs
  const cpuBefore = cpuSeconds(relay.pid)
  const startedMs = Date.now()
  const flooders = Array.from({ length: flooderCount }, async (_, index) => {
    let ws: WebSocket | null = null
    let sends = 0
    while (Date.now() < endsAtMs) {
      if (ws === null || ws.readyState !== WebSocket.OPEN) {
        if (ws !== null) closes += 1
        ws = await open(signalUrl).catch(() => null)
        if (ws === null) {
          await sleep(50)
          continue
        }
      }
      if (ws.bufferedAmount > maxBufferedBytes) {
        await sleep(1)
        continue
      }
      const frame = (sends + index) % 10 === 0 ? large : small
      ws.send(frame)
      sends += 1
      sentFrames += 1
      sentBytes += frame.length
      if (sends % 100 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    ws?.terminate()
  })
  const rss: number[] = []
  const health: number[] = []
  const sampler = (async () => {
    while (Date.now() < endsAtMs) {
      rss.push(relay.rssBytes())
      const askedMs = Date.now()
      await fetch(`${relay.url}/healthz`, { signal: AbortSignal.timeout(10_000) })
        .then((response) => response.arrayBuffer())
        .then(() => health.push(Date.now() - askedMs))
        .catch(() => health.push(Number.POSITIVE_INFINITY))
      await sleep(sampleMs)
    }
  })()
  await Promise.all([...flooders, sampler])
  const cpuPercent = ((cpuSeconds(relay.pid) - cpuBefore) / ((Date.now() - startedMs) / 1000)) * 100
  const readersOpen = readers.filter((reader) => reader.readyState === WebSocket.OPEN).length
  for (const reader of readers) reader.terminate()
  return {
    cpuPercent,
    baselineRssMiB: baselineRss / 2 ** 20,
    peakRssMiB: Math.max(...rss) / 2 ** 20,
    sentFrames,
    sentMiB: sentBytes / 2 ** 20,
    closes,
    delivered,
    healthP50Ms: median(health),
    healthMaxMs: percentile(health, 100),
    readersOpen,
  }
}

/** The flood with the default limits, then with them lifted, each in a fresh relay process. */
export async function benchSignalFlood(): Promise<void> {
  const runs: [string, Record<string, string>][] = [
    ['default limits', { RELAY_CONNECTS_PER_S_PER_IP: '10' }],
    ['limits lifted', { RELAY_SIGNAL_FRAMES_PER_S: '1000000', RELAY_SIGNAL_FRAME_BURST: '1000000', RELAY_SIGNAL_BYTES_PER_S: '1000000000', RELAY_SIGNAL_BYTE_BURST: '1000000000' }],
  ]
  const rows: string[][] = []
  for (const [label, env] of runs) {
    const relay = await startRelay({ RELAY_STATIC_DIR: 'dist', ...env })
    try {
      const figures = await flood(relay)
      rows.push([
        label,
        fmt(figures.cpuPercent, 0),
        fmt(figures.baselineRssMiB),
        fmt(figures.peakRssMiB),
        `${fmt(figures.sentFrames / (floodMs / 1000), 0)} (${fmt(figures.sentMiB / (floodMs / 1000), 1)} MiB/s)`,
        String(figures.closes),
        fmt(figures.delivered / readerCount / (floodMs / 1000), 0),
        `${fmt(figures.healthP50Ms)} / ${fmt(figures.healthMaxMs)}`,
        `${figures.readersOpen}/${readerCount}`,
      ])
    } finally {
      await relay.stop()
    }
  }
  table(
    `Relay under a /signal flood (${flooderCount} flooders publishing to one topic as fast as their sockets take, 1 in 10 frames 16 KiB, ${readerCount} readers; ${floodMs / 1000} s; loopback)`,
    ['limits', 'relay CPU %', 'RSS before MiB', 'RSS peak MiB', 'frames/s sent', 'flooders closed', 'frames/s per reader', '/healthz p50 / max ms', 'readers still open'],
    rows,
  )
}

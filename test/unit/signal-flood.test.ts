// /signal under abuse: a flooding publisher, a crowded topic, a full relay, many addresses of
// one IPv6 /64, and pages of other origins.
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, type ClientOptions, type RawData } from 'ws'
import { addressGroup, clientAddressOf, ipv6Groups, normalizeAddress, parseTrustedProxies, TrustProxyError } from '../../src/relay/address'
import { createTokenBucket } from '../../src/relay/token-bucket'
import { startRelay, waitFor, type StartedRelay } from './relay-v1/start'

const started: StartedRelay[] = []
const sockets: WebSocket[] = []
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate()
  await Promise.all(started.splice(0).map((relay) => relay.close()))
})

async function start(relayEnv: Record<string, string>, v1Env: Record<string, string> = {}): Promise<StartedRelay & { signalUrl: string }> {
  const relay = await startRelay(v1Env, relayEnv)
  started.push(relay)
  return { ...relay, signalUrl: `ws://127.0.0.1:${relay.port}/signal` }
}

interface Client {
  ws: WebSocket
  received: Record<string, unknown>[]
  closed: Promise<{ code: number; reason: string }>
  send(frame: unknown): void
  /** A ping answered: every frame sent before it was handled. */
  sync(): Promise<void>
}

const textOf = (data: RawData): string => (Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8'))

async function connect(url: string, options: ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(url, options)
  sockets.push(ws)
  const received: Record<string, unknown>[] = []
  ws.on('message', (data) => received.push(JSON.parse(textOf(data)) as Record<string, unknown>))
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  ws.on('error', () => undefined)
  const pongs = (): number => received.filter((frame) => frame.type === 'pong').length
  return {
    ws,
    received,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    async sync() {
      const before = pongs()
      ws.send('{"type":"ping"}')
      await waitFor(() => pongs() > before, 5_000)
    },
  }
}

/** Why an upgrade was refused (ws says "Unexpected server response: 403"). */
function refusal(url: string, options: ClientOptions = {}): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options)
    sockets.push(ws)
    ws.on('open', () => resolve('opened'))
    ws.on('error', (error) => resolve(error.message))
  })
}

/** A keyed room's y-webrtc envelope of `cipherBytes` (the relay checks its shape, not its key). */
function envelope(cipherBytes: number): string {
  const length = [(cipherBytes & 0x7f) | 0x80, cipherBytes >> 7]
  return Buffer.from([7, ...Buffer.from('AES-GCM'), 12, ...Array<number>(12).fill(1), ...length, ...Array<number>(cipherBytes).fill(2)]).toString('base64')
}

const announce = (from: string): Record<string, unknown> => ({ type: 'announce', from })

describe('a flooding publisher', () => {
  it('is closed with 1008 past its frames per second, while a reading subscriber of the topic stays', async () => {
    const relay = await start({ RELAY_SIGNAL_FRAMES_PER_S: '20', RELAY_SIGNAL_FRAME_BURST: '40' })
    const reader = await connect(relay.signalUrl)
    const flooder = await connect(relay.signalUrl)
    for (const client of [reader, flooder]) {
      client.send({ type: 'subscribe', topics: ['flood-room'] })
      await client.sync()
    }
    for (let i = 0; i < 400; i += 1) flooder.send({ type: 'publish', topic: 'flood-room', data: announce(`flood-${i}`) })
    expect(await flooder.closed).toEqual({ code: 1008, reason: 'rate-limited' })
    // The reader got the burst the flooder was allowed, and no more.
    await reader.sync()
    const delivered = reader.received.filter((frame) => frame.type === 'publish').length
    expect(delivered).toBeGreaterThanOrEqual(30)
    expect(delivered).toBeLessThanOrEqual(45)
    expect(reader.ws.readyState).toBe(WebSocket.OPEN)
    const other = await connect(relay.signalUrl)
    other.send({ type: 'publish', topic: 'flood-room', data: announce('after-the-flood') })
    await waitFor(() => reader.received.some((frame) => (frame.data as Record<string, unknown> | undefined)?.from === 'after-the-flood'))
    expect(relay.relay.stats().dropped['rate-limited']).toBe(1)
  })

  it('is closed past its bytes per second, at a rate of frames that alone would pass', async () => {
    const relay = await start({ RELAY_MAX_FRAME_BYTES: '4096', RELAY_SIGNAL_BYTES_PER_S: '4096', RELAY_SIGNAL_BYTE_BURST: '8192' })
    const reader = await connect(relay.signalUrl)
    reader.send({ type: 'subscribe', topics: ['bytes-room'] })
    await reader.sync()
    const flooder = await connect(relay.signalUrl)
    const big = envelope(2_000)
    for (let i = 0; i < 12; i += 1) flooder.send({ type: 'publish', topic: 'bytes-room', data: big })
    expect((await flooder.closed).code).toBe(1008)
    await reader.sync()
    const delivered = reader.received.filter((frame) => frame.type === 'publish')
    expect(delivered.length).toBeGreaterThan(0)
    expect(delivered.length).toBeLessThan(6)
    expect(delivered[0]).toMatchObject({ data: big, clients: 1 })
    // A steady publisher under the rate is never closed.
    const steady = await connect(relay.signalUrl)
    for (let i = 0; i < 6; i += 1) {
      steady.send({ type: 'publish', topic: 'bytes-room', data: envelope(500) })
      await new Promise((resolve) => setTimeout(resolve, 150))
    }
    await steady.sync()
    expect(steady.ws.readyState).toBe(WebSocket.OPEN)
  })

  it('refills its bucket at the configured rate, up to the burst', () => {
    const bucket = createTokenBucket({ ratePerS: 10, burst: 5 }, 0)
    for (let i = 0; i < 5; i += 1) expect(bucket.take(1, 0)).toBe(true)
    expect(bucket.take(1, 0)).toBe(false)
    expect(bucket.take(1, 100)).toBe(true)
    expect(bucket.take(1, 100)).toBe(false)
    expect(bucket.take(5, 10_000)).toBe(true)
    expect(bucket.take(1, 10_000)).toBe(false)
    expect(bucket.take(6, 20_000)).toBe(false)
  })
})

describe('caps', () => {
  it('closes a subscriber past the cap of a topic with 1013, and leaves the others', async () => {
    const relay = await start({ RELAY_MAX_TOPIC_SUBSCRIBERS: '2' })
    const [a, b, c] = [await connect(relay.signalUrl), await connect(relay.signalUrl), await connect(relay.signalUrl)]
    for (const client of [a, b]) {
      client.send({ type: 'subscribe', topics: ['crowded'] })
      await client.sync()
    }
    c.send({ type: 'subscribe', topics: ['quiet', 'crowded'] })
    expect(await c.closed).toEqual({ code: 1013, reason: 'topic-full' })
    a.send({ type: 'publish', topic: 'crowded', data: announce('still-two') })
    await waitFor(() => b.received.some((frame) => frame.type === 'publish' && frame.clients === 2))
    expect(relay.relay.stats()).toMatchObject({ rooms: 1, dropped: { 'topic-full': 1 } })
  })

  it('refuses connections past the cap overall with 1013', async () => {
    const relay = await start({ RELAY_MAX_CONNECTIONS: '2' })
    const first = await connect(relay.signalUrl)
    await connect(relay.signalUrl)
    const third = await connect(relay.signalUrl)
    expect(await third.closed).toMatchObject({ code: 1013 })
    expect(relay.relay.stats().dropped['server-full']).toBe(1)
    first.ws.close()
    await first.closed
    await waitFor(() => relay.relay.stats().connections === 1)
    await (await connect(relay.signalUrl)).sync()
  })
})

describe('reconnecting', () => {
  it('does not refill a flooder: an address opens connections at a bounded rate', async () => {
    const relay = await start({ RELAY_CONNECTS_PER_S_PER_IP: '1', RELAY_TRUST_PROXY: '127.0.0.1' }, { RELAY_TOKENS: 't', RELAY_TRUST_PROXY: '127.0.0.1' })
    const from = (address: string): ClientOptions => ({ headers: { 'X-Forwarded-For': address } })
    // A burst of four times the rate, then no more until the bucket refills.
    for (let i = 0; i < 4; i += 1) (await connect(relay.signalUrl, from('203.0.113.1'))).ws.close()
    const fifth = await connect(relay.signalUrl, from('203.0.113.1'))
    expect(await fifth.closed).toMatchObject({ code: 1013 })
    expect(relay.relay.stats().dropped['connect-rate']).toBe(1)
    await (await connect(relay.signalUrl, from('203.0.113.2'))).sync()
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    await (await connect(relay.signalUrl, from('203.0.113.1'))).sync()
  })
})

describe('addresses', () => {
  it('groups IPv6 by /64 and reads IPv4-mapped IPv6 as IPv4', () => {
    expect(addressGroup('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64')
    expect(addressGroup('2001:0DB8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64')
    expect(addressGroup('[2001:db8:1:2:aaaa::9]')).toBe('2001:db8:1:2::/64')
    expect(addressGroup('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(addressGroup('::1')).toBe('0:0:0:0::/64')
    expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(addressGroup('::ffff:10.1.2.3')).toBe('10.1.2.3')
    expect(addressGroup('::ffff:a01:203')).toBe('10.1.2.3')
    expect(addressGroup('10.1.2.3')).toBe('10.1.2.3')
    expect(normalizeAddress('::FFFF:127.0.0.1')).toBe('127.0.0.1')
    expect(ipv6Groups('64:ff9b::192.0.2.33')).toEqual([0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x221])
    expect(ipv6Groups('1.2.3.4')).toBeNull()
    expect(ipv6Groups('1::2::3')).toBeNull()
  })

  it('counts the addresses of one /64 together for the per-address limit', async () => {
    // Behind a trusted proxy (here: loopback), X-Forwarded-For says who the client is.
    const relay = await start({ RELAY_MAX_CONN_PER_IP: '2', RELAY_TRUST_PROXY: '127.0.0.1' }, { RELAY_TOKENS: 't', RELAY_TRUST_PROXY: '127.0.0.1' })
    const from = (address: string): ClientOptions => ({ headers: { 'X-Forwarded-For': address } })
    await connect(relay.signalUrl, from('2001:db8:1:2::1'))
    await connect(relay.signalUrl, from('2001:db8:1:2:ffff::2'))
    const third = await connect(relay.signalUrl, from('2001:db8:1:2:1:2:3:4'))
    expect((await third.closed).code).toBe(1013)
    await (await connect(relay.signalUrl, from('2001:db8:1:3::1'))).sync()
    await connect(relay.signalUrl, from('10.0.0.7'))
    await connect(relay.signalUrl, from('::ffff:10.0.0.7'))
    const mapped = await connect(relay.signalUrl, from('198.51.100.1, 10.0.0.7'))
    expect((await mapped.closed).code).toBe(1013)
    expect(relay.relay.stats().dropped['conn-limit']).toBe(2)
  })

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const relay = await start({ RELAY_MAX_CONN_PER_IP: '2', RELAY_TRUST_PROXY: '10.9.9.9' }, { RELAY_TOKENS: 't', RELAY_TRUST_PROXY: '10.9.9.9' })
    await connect(relay.signalUrl, { headers: { 'X-Forwarded-For': '198.51.100.1' } })
    await connect(relay.signalUrl, { headers: { 'X-Forwarded-For': '198.51.100.2' } })
    const third = await connect(relay.signalUrl, { headers: { 'X-Forwarded-For': '198.51.100.3' } })
    expect((await third.closed).code).toBe(1013)
    const untrusted = await start({ RELAY_MAX_CONN_PER_IP: '1' })
    await connect(untrusted.signalUrl, { headers: { 'X-Forwarded-For': '198.51.100.4' } })
    expect((await (await connect(untrusted.signalUrl, { headers: { 'X-Forwarded-For': '198.51.100.5' } })).closed).code).toBe(1013)
  })

  it('reads X-Forwarded-For from the right, past trusted hops only', () => {
    const trusted = parseTrustedProxies(['10.0.0.0/8', '::1'])
    const request = (remoteAddress: string, forwarded?: string) =>
      ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as Parameters<typeof clientAddressOf>[0]
    expect(clientAddressOf(request('10.0.0.1', '203.0.113.9'), trusted)).toBe('203.0.113.9')
    // The client may write anything left of what the proxies appended; only the rightmost untrusted counts.
    expect(clientAddressOf(request('10.0.0.1', '1.1.1.1, 203.0.113.9, 10.2.3.4'), trusted)).toBe('203.0.113.9')
    expect(clientAddressOf(request('::ffff:10.0.0.1', 'garbage, 203.0.113.9'), trusted)).toBe('203.0.113.9')
    expect(clientAddressOf(request('::1', '10.1.1.1'), trusted)).toBe('10.1.1.1')
    expect(clientAddressOf(request('10.0.0.1'), trusted)).toBe('10.0.0.1')
    expect(clientAddressOf(request('203.0.113.50', '1.2.3.4'), trusted)).toBe('203.0.113.50')
    expect(clientAddressOf(request('10.0.0.1', '1.2.3.4'), parseTrustedProxies([]))).toBe('10.0.0.1')
    expect(() => parseTrustedProxies(['10.0.0.0/33'])).toThrow(TrustProxyError)
    expect(() => parseTrustedProxies(['proxy.local'])).toThrow(TrustProxyError)
  })
})

describe('the Origin of an upgrade', () => {
  it('refuses pages of other origins with 403, and lets the relay own, loopback, listed and non-browser clients in', async () => {
    const relay = await start({ RELAY_SIGNAL_ORIGINS: 'https://app.example' })
    expect(await refusal(relay.signalUrl, { origin: 'https://evil.example' })).toMatch(/403/)
    expect(await refusal(relay.signalUrl, { origin: 'null' })).toMatch(/403/)
    expect(await refusal(relay.signalUrl, { origin: 'http://127.0.0.1.evil.example' })).toMatch(/403/)
    expect(await refusal(relay.signalUrl, { origin: 'https://app.example.evil' })).toMatch(/403/)
    for (const origin of [`http://127.0.0.1:${relay.port}`, 'http://localhost:5173', 'http://[::1]:8080', 'https://app.example', undefined]) {
      const client = await connect(relay.signalUrl, origin === undefined ? {} : { origin })
      await client.sync()
    }
    expect(relay.relay.stats().dropped.origin).toBe(4)
    const open = await start({ RELAY_SIGNAL_ORIGINS: '*' })
    await (await connect(open.signalUrl, { origin: 'https://anyone.example' })).sync()
  })
})

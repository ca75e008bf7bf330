import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Socket } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { loadConfig } from '../../src/relay/config'
import { createRelay, type Relay } from '../../src/relay/server'
import { FailoverSignalingClient, type SignalingState } from '../../src/swarm/room/signaling-client'
import { backoffDelayMs, SignalingPlan } from '../../src/swarm/room/signaling-policy'
import { signalingText } from '../../src/ui/signaling-line'

/** A deterministic stand-in for Math.random: the values in turn, over and over. */
function sequence(...values: number[]): () => number {
  let index = 0
  return () => values[index++ % values.length] ?? 0
}

describe('backoffDelayMs: exponential backoff with full jitter', () => {
  it('stays in [0, min(cap, base · 2^round))', () => {
    const options = { baseMs: 500, capMs: 30_000 }
    for (let round = 0; round < 12; round += 1) {
      const ceiling = Math.min(30_000, 500 * 2 ** round)
      expect(backoffDelayMs(round, () => 0, options)).toBe(0)
      expect(backoffDelayMs(round, () => 0.999_999, options)).toBeLessThan(ceiling)
      expect(backoffDelayMs(round, () => 0.999_999, options)).toBeGreaterThanOrEqual(ceiling - 1)
      expect(backoffDelayMs(round, () => 0.5, options)).toBe(Math.floor(ceiling / 2))
    }
  })

  it('is capped however many rounds failed', () => {
    expect(backoffDelayMs(1_000, () => 0.999, { baseMs: 500, capMs: 30_000 })).toBe(29_970)
    expect(backoffDelayMs(-3, () => 0.999, { baseMs: 500, capMs: 30_000 })).toBe(499)
  })

  it('spreads clients apart: Math.random gives different waits', () => {
    const waits = new Set(Array.from({ length: 50 }, () => backoffDelayMs(4, Math.random)))
    expect(waits.size).toBeGreaterThan(40)
  })
})

describe('SignalingPlan: failover order', () => {
  const urls = ['wss://a/signal', 'wss://b/signal', 'wss://c/signal']

  it('tries the preferred URL first, at once', () => {
    const plan = new SignalingPlan(urls, () => 0.5)
    expect(plan.first()).toEqual({ url: 'wss://a/signal', delayMs: 0 })
  })

  it('tries every URL once before the backoff doubles, in order, round and round', () => {
    const plan = new SignalingPlan(urls, () => 0.999_999, { baseMs: 100, capMs: 1_000 })
    plan.first()
    const tries = Array.from({ length: 9 }, () => plan.failed())
    expect(tries.map((next) => next.url)).toEqual([...urls.slice(1), ...urls, ...urls, urls[0]].slice(0, 9))
    expect(tries.map((next) => Math.ceil(next.delayMs / 100) * 100)).toEqual([100, 100, 100, 200, 200, 200, 400, 400, 400])
    expect(plan.failures).toBe(9)
  })

  it('resets the count once a connection opens', () => {
    const plan = new SignalingPlan(urls, () => 0.999_999, { baseMs: 100, capMs: 10_000 })
    plan.first()
    for (let i = 0; i < 7; i += 1) plan.failed()
    plan.connected()
    expect(plan.failures).toBe(0)
    expect(plan.failed().delayMs).toBeLessThan(100)
  })

  it('a drop of an open connection moves on to the next URL after a short jittered wait', () => {
    const plan = new SignalingPlan(urls, () => 0.25, { baseMs: 500, capMs: 30_000 })
    plan.first()
    plan.connected()
    expect(plan.failed()).toEqual({ url: 'wss://b/signal', delayMs: 125 })
  })

  it('on a fallback URL probes the preferred one with a growing, capped wait; none on the preferred', () => {
    const plan = new SignalingPlan(urls, () => 0.999_999, { baseMs: 100, capMs: 1_000 }, { baseMs: 10_000, capMs: 60_000 })
    plan.first()
    expect(plan.nextProbe()).toBeNull()
    plan.failed()
    plan.connected()
    expect(plan.current).toBe('wss://b/signal')
    const probes = Array.from({ length: 5 }, () => plan.nextProbe())
    expect(probes.map((probe) => probe?.url)).toEqual(Array(5).fill('wss://a/signal'))
    expect(probes.map((probe) => Math.ceil((probe?.delayMs ?? 0) / 1000))).toEqual([20, 30, 50, 60, 60])
    plan.returned()
    expect(plan.current).toBe('wss://a/signal')
    expect(plan.nextProbe()).toBeNull()
  })

  it('drops duplicate URLs and refuses none', () => {
    expect(new SignalingPlan(['wss://a', 'wss://a', 'wss://b']).urls).toEqual(['wss://a', 'wss://b'])
    expect(() => new SignalingPlan([])).toThrow(RangeError)
  })

  it('with one URL, retries it with growing waits', () => {
    const plan = new SignalingPlan(['wss://a'], sequence(0.999_999), { baseMs: 500, capMs: 4_000 })
    plan.first()
    const waits = Array.from({ length: 6 }, () => plan.failed())
    expect(waits.every((next) => next.url === 'wss://a')).toBe(true)
    expect(waits.map((next) => Math.ceil(next.delayMs / 500) * 500)).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000])
  })
})

// The client against real relays, over real sockets (ws's WebSocket in place of the browser's).
describe('FailoverSignalingClient', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  async function startRelay(port = 0): Promise<{ relay: Relay; url: string; port: number }> {
    const relay = createRelay(loadConfig({ PORT: String(port), RELAY_STATIC_DIR: '/nonexistent', RELAY_LOG: 'silent' }), { shutdownGraceMs: 200 })
    const address = await relay.listen()
    cleanups.push(() => relay.close())
    return { relay, url: `ws://127.0.0.1:${address.port}/signal`, port: address.port }
  }

  function client(urls: string[], preferredProbeMs = 60_000): { client: FailoverSignalingClient; states: SignalingState[]; events: string[] } {
    const states: SignalingState[] = []
    const events: string[] = []
    const created = new FailoverSignalingClient(urls, {
      createSocket: (url) => new WebSocket(url),
      backoff: { baseMs: 50, capMs: 200 },
      preferredProbe: { baseMs: preferredProbeMs, capMs: preferredProbeMs },
      connectTimeoutMs: 1_000,
    })
    created.onState((state) => states.push(state))
    created.on('connect', () => events.push('connect'))
    created.on('disconnect', () => events.push('disconnect'))
    cleanups.push(() => created.destroy())
    return { client: created, states, events }
  }

  async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  it('connects to the preferred URL, answers y-webrtc frames, and pings', async () => {
    const a = await startRelay()
    const { client: signaling, events } = client([a.url])
    await until(() => signaling.connected, 'the connection')
    expect(signaling.state()).toMatchObject({ status: 'connected', url: a.url, retryAtMs: null, failures: 0 })
    expect(events).toEqual(['connect'])
    const frames: unknown[] = []
    signaling.on('message', (frame) => frames.push(frame))
    signaling.send({ type: 'subscribe', topics: ['room-a'] })
    signaling.send({ type: 'publish', topic: 'room-a', data: { type: 'announce', from: 'peer-1' } })
    await until(() => frames.length > 0, 'the echo')
    expect(frames[0]).toEqual({ type: 'publish', topic: 'room-a', data: { type: 'announce', from: 'peer-1' }, clients: 1 })
  })

  it('fails over to the next URL when the first cannot be reached, then when its relay stops', async () => {
    const b = await startRelay()
    const c = await startRelay()
    const { client: signaling, states, events } = client(['ws://127.0.0.1:1/signal', b.url, c.url])
    await until(() => signaling.state().url === b.url && signaling.connected, 'b')
    expect(states.some((state) => state.status === 'offline' && state.url === 'ws://127.0.0.1:1/signal')).toBe(true)
    await b.relay.close()
    await until(() => signaling.state().url === c.url && signaling.connected, 'c')
    expect(events).toEqual(['connect', 'disconnect', 'connect'])
    // Between the two, offline with a retry time set.
    expect(states.some((state) => state.status === 'offline' && state.retryAtMs !== null && state.failures > 0)).toBe(true)
  })

  it('goes back to the preferred URL once it is up again', async () => {
    const a = await startRelay()
    const b = await startRelay()
    const { client: signaling, events } = client([a.url, b.url], 300)
    await until(() => signaling.connected && signaling.state().url === a.url, 'a')
    await a.relay.close()
    await until(() => signaling.connected && signaling.state().url === b.url, 'b')
    await startRelay(a.port)
    await until(() => signaling.connected && signaling.state().url === a.url, 'a again')
    expect(events).toEqual(['connect', 'disconnect', 'connect', 'disconnect', 'connect'])
    // It left b: the relay there has no signaling connection open any more.
    await until(() => b.relay.stats().connections === 0, "b's connection closed")
  })

  it('keeps retrying a single relay that is down, and connects when it is back', async () => {
    const a = await startRelay()
    const { client: signaling } = client([a.url])
    await until(() => signaling.connected, 'a')
    await a.relay.close()
    await until(() => !signaling.connected && signaling.state().failures >= 3, 'three failed tries')
    await startRelay(a.port)
    await until(() => signaling.connected, 'a again')
    expect(signaling.state().failures).toBe(0)
  })

  it('a URL that takes the TCP connection but never answers the upgrade times out, and the next is tried', async () => {
    const held: Socket[] = []
    const silent = createServer((socket) => held.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      for (const socket of held) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    })
    const address = silent.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    const b = await startRelay()
    const started = Date.now()
    const { client: signaling } = client([`ws://127.0.0.1:${address.port}/signal`, b.url])
    await until(() => signaling.connected && signaling.state().url === b.url, 'b')
    // connectTimeoutMs is 1 s in these tests.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
  })

  it('an open connection that goes silent (half-open) is dropped and the next URL tried', async () => {
    // Upgrades, then never answers a frame: no pong to the client's pings.
    const mute = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise<void>((resolve) => mute.once('listening', () => resolve()))
    cleanups.push(() => new Promise<void>((resolve) => mute.close(() => resolve())))
    const mutePort = (mute.address() as { port: number }).port
    const b = await startRelay()
    const states: SignalingState[] = []
    const signaling = new FailoverSignalingClient([`ws://127.0.0.1:${mutePort}/signal`, b.url], {
      createSocket: (url) => new WebSocket(url),
      backoff: { baseMs: 50, capMs: 200 },
      pingMs: 100,
      silenceMs: 400,
    })
    cleanups.push(() => signaling.destroy())
    signaling.onState((state) => states.push(state))
    await until(() => signaling.connected && signaling.state().url === b.url, 'b after the silence')
    expect(states.some((state) => state.status === 'connected' && state.url.includes(String(mutePort)))).toBe(true)
    // b answers pings: it stays.
    await new Promise((resolve) => setTimeout(resolve, 800))
    expect(signaling.state()).toMatchObject({ status: 'connected', url: b.url })
  })

  it('destroy stops every try: no socket is left open', async () => {
    const a = await startRelay()
    const { client: signaling } = client([a.url])
    await until(() => signaling.connected, 'a')
    signaling.destroy()
    await until(() => a.relay.stats().connections === 0, 'the close')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(a.relay.stats().connections).toBe(0)
    expect(signaling.connected).toBe(false)
  })
})

describe('signalingText: the swarm view’s line', () => {
  const base: SignalingState = {
    status: 'connected',
    url: 'wss://relay-a.example.org/signal',
    urls: ['wss://relay-a.example.org/signal', 'wss://relay-b.example.org/signal'],
    retryAtMs: null,
    failures: 0,
  }

  it('says where it signals, or that it is connecting at first', () => {
    expect(signalingText(base, 2, 0)).toBe('signaling via relay-a.example.org')
    expect(signalingText({ ...base, status: 'offline' }, 0, 0)).toBe('signaling: connecting to relay-a.example.org…')
  })

  it('offline: how many peers still sync, with the exact plural, and when it tries again', () => {
    const offline: SignalingState = { ...base, status: 'offline', url: 'wss://relay-b.example.org/signal', failures: 2, retryAtMs: 10_000 }
    expect(signalingText(offline, 1, 7_500)).toBe('signaling offline, 1 peer still connected, reconnecting in 3 seconds')
    expect(signalingText(offline, 0, 9_500)).toBe('signaling offline, 0 peers still connected, reconnecting in 1 second')
    expect(signalingText(offline, 3, 12_000)).toBe('signaling offline, 3 peers still connected, reconnecting in 1 second')
    expect(signalingText({ ...offline, retryAtMs: null }, 2, 0)).toBe('signaling offline, 2 peers still connected, connecting to relay-b.example.org…')
  })
})

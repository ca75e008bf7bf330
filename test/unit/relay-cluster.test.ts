// Two relays in-process sharing a real redis-server: shared signaling topics, cleanup, a
// hostile instance's frames, and a Redis outage.
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { ClusterHealth } from '../../src/relay/cluster/redis-cluster'
import { loadConfig } from '../../src/relay/config'
import { createRelay, type Relay } from '../../src/relay/server'
import { startRedisServer, type RedisServer } from './relay-cluster/redis-server'

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedisServer()
})
afterAll(async () => {
  await redis.dispose()
})

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Started {
  relay: Relay
  base: string
  signal: string
}

let prefixCounter = 0
/** Each test its own key prefix, so the instances of one test never see another's. */
function freshPrefix(): string {
  prefixCounter += 1
  return `t${process.pid}-${prefixCounter}:`
}

async function startRelay(prefix: string, id: string, env: Record<string, string> = {}): Promise<Started> {
  const config = loadConfig({ PORT: '0', RELAY_STATIC_DIR: '/nonexistent', RELAY_LOG: 'silent', RELAY_REDIS_URL: redis.url, RELAY_REDIS_PREFIX: prefix, RELAY_INSTANCE_ID: id, ...env })
  const relay = createRelay(config, { shutdownGraceMs: 200 })
  const { port } = await relay.listen()
  cleanups.push(() => relay.close())
  return { relay, base: `http://127.0.0.1:${port}`, signal: `ws://127.0.0.1:${port}/signal` }
}

interface Client {
  ws: WebSocket
  frames: Record<string, unknown>[]
  send(frame: object): void
}

async function connectClient(url: string): Promise<Client> {
  const ws = new WebSocket(url)
  const frames: Record<string, unknown>[] = []
  ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  cleanups.push(() => ws.terminate())
  return { ws, frames, send: (frame) => ws.send(JSON.stringify(frame)) }
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

async function clusterHealth(relay: Started): Promise<ClusterHealth> {
  const body = (await (await fetch(`${relay.base}/healthz`)).json()) as { cluster: ClusterHealth }
  return body.cluster
}

async function redisUp(relay: Started): Promise<boolean> {
  return (await clusterHealth(relay)).redis.state === 'up'
}

const announce = (from: string, topic = 'room-a'): object => ({ type: 'publish', topic, data: { type: 'announce', from } })

/** Redis's count of subscribers (relay instances) of a topic's channel. */
async function channelSubscribers(prefix: string, topic: string): Promise<number> {
  const client = new Redis(redis.url)
  try {
    const [, count] = (await client.pubsub('NUMSUB', `${prefix}signal:${topic}`)) as [string, number]
    return count
  } finally {
    client.disconnect()
  }
}

describe('shared signaling through Redis', () => {
  it('clients on different relays see each other’s publishes, once, and never their own twice', async () => {
    const prefix = freshPrefix()
    const one = await startRelay(prefix, 'one')
    const two = await startRelay(prefix, 'two')
    await until(async () => (await redisUp(one)) && (await redisUp(two)), 'redis up on both')
    const a = await connectClient(one.signal)
    const b = await connectClient(two.signal)
    a.send({ type: 'subscribe', topics: ['room-a'] })
    b.send({ type: 'subscribe', topics: ['room-a'] })
    await until(async () => (await channelSubscribers(prefix, 'room-a')) === 2, 'both instances on the channel')
    a.send(announce('peer-a'))
    await until(() => b.frames.length === 1, "a's announce at b")
    expect(b.frames[0]).toEqual({ type: 'publish', topic: 'room-a', data: { type: 'announce', from: 'peer-a' }, clients: 1 })
    b.send(announce('peer-b'))
    await until(() => a.frames.length === 2, "b's announce at a")
    expect(a.frames.map((frame) => (frame.data as { from: string }).from)).toEqual(['peer-a', 'peer-b'])
    // No echo from Redis: each client has every frame exactly once.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(a.frames).toHaveLength(2)
    expect(b.frames).toHaveLength(2)
    // A frame from Redis is delivered, never published back (no loop between instances).
    expect(await clusterHealth(one)).toMatchObject({ published: 1, received: 1 })
    expect(await clusterHealth(two)).toMatchObject({ published: 1, received: 1 })
    // A topic the other relay has no subscriber of is not delivered there.
    a.send({ type: 'subscribe', topics: ['room-only-one'] })
    a.send(announce('peer-a', 'room-only-one'))
    await until(() => a.frames.length === 3, 'the local echo')
    expect(b.frames).toHaveLength(2)
  })

  it('listens to a topic’s channel only while it has local subscribers', async () => {
    const prefix = freshPrefix()
    const one = await startRelay(prefix, 'one')
    const two = await startRelay(prefix, 'two')
    await until(async () => (await redisUp(one)) && (await redisUp(two)), 'redis up on both')
    const a = await connectClient(one.signal)
    const b1 = await connectClient(two.signal)
    const b2 = await connectClient(two.signal)
    for (const client of [a, b1, b2]) client.send({ type: 'subscribe', topics: ['room-a'] })
    await until(async () => (await channelSubscribers(prefix, 'room-a')) === 2, 'two instances on the channel')
    b1.send({ type: 'unsubscribe', topics: ['room-a'] })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await channelSubscribers(prefix, 'room-a')).toBe(2)
    b2.ws.close()
    await until(async () => (await channelSubscribers(prefix, 'room-a')) === 1, 'relay two off the channel')
    a.ws.close()
    await until(async () => (await channelSubscribers(prefix, 'room-a')) === 0, 'no instance on the channel')
  })

  it('/healthz lists the instances it sees, with version, connections and start', async () => {
    const prefix = freshPrefix()
    const one = await startRelay(prefix, 'one')
    const two = await startRelay(prefix, 'two')
    await connectClient(two.signal)
    await until(async () => (await clusterHealth(one)).instances.find((instance) => instance.id === 'two')?.connections === 1, 'two seen by one with its connection', 15_000)
    const health = await clusterHealth(one)
    expect(health.instanceId).toBe('one')
    expect(health.redis).toMatchObject({ state: 'up', url: redis.url, lastError: null })
    expect(health.instances.map((instance) => instance.id).sort()).toEqual(['one', 'two'])
    for (const instance of health.instances) {
      expect(instance.version).toMatch(/^\d+\.\d+\.\d+/)
      expect(instance.startedAt).toBeLessThanOrEqual(Date.now())
    }
    // An instance that stops takes its key with it.
    await two.relay.close()
    await until(async () => (await clusterHealth(one)).instances.length === 1, 'two gone', 15_000)
  })

  it('never lets a password into /healthz', async () => {
    const config = loadConfig({ PORT: '0', RELAY_STATIC_DIR: '/nonexistent', RELAY_LOG: 'silent', RELAY_REDIS_URL: `redis://:hunter2@127.0.0.1:${redis.port}`, RELAY_REDIS_PREFIX: freshPrefix() })
    const relay = createRelay(config, { shutdownGraceMs: 200 })
    const { port } = await relay.listen()
    cleanups.push(() => relay.close())
    const text = await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()
    expect(text).not.toContain('hunter2')
    expect(text).toContain('***')
  })

  it('drops what a hostile instance puts on a channel: oversized, not JSON, invalid frames, wrong topic, floods', async () => {
    const prefix = freshPrefix()
    const one = await startRelay(prefix, 'one', { RELAY_MAX_FRAME_BYTES: '4096', RELAY_CLUSTER_FRAMES_PER_S: '5' })
    await until(() => redisUp(one), 'redis up')
    const a = await connectClient(one.signal)
    a.send({ type: 'subscribe', topics: ['room-a'] })
    await until(async () => (await channelSubscribers(prefix, 'room-a')) === 1, 'on the channel')
    const hostile = new Redis(redis.url)
    cleanups.push(() => hostile.disconnect())
    const channel = `${prefix}signal:room-a`
    const valid = (from: string, peer: string): string => JSON.stringify({ v: 1, from, frame: announce(peer) })
    await hostile.publish(channel, 'x'.repeat(10_000))
    await hostile.publish(channel, JSON.stringify({ v: 1, from: 'evil', frame: { type: 'publish', topic: 'room-a', data: 'x'.repeat(5_000) } }))
    await hostile.publish(channel, '{not json')
    await hostile.publish(channel, JSON.stringify({ v: 1, from: 'evil', frame: { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'x' } } }))
    await hostile.publish(channel, JSON.stringify({ v: 2, from: 'evil', frame: announce('p') }))
    await hostile.publish(channel, JSON.stringify({ v: 1, from: 'evil', frame: announce('p', 'room-b') }))
    // Its own id: taken for an echo and ignored.
    await hostile.publish(channel, valid('one', 'spoofed-echo'))
    await hostile.publish(channel, valid('evil', 'good-1'))
    for (let i = 0; i < 40; i += 1) await hostile.publish(channel, valid('flooder', `flood-${i}`))
    const from = (): string[] => a.frames.map((frame) => (frame.data as { from: string }).from)
    const floods = (): number => from().filter((peer) => peer.startsWith('flood-')).length
    // Every flood frame either delivered or dropped; a burst of 4 × 5 passes (a slow machine refills a few more).
    await until(async () => floods() + (await clusterHealth(one)).dropped['rate-limited'] === 40, 'the flood counted')
    expect(floods()).toBeGreaterThanOrEqual(20)
    expect(floods()).toBeLessThanOrEqual(25)
    const seen = from()
    expect(seen[0]).toBe('good-1')
    expect(seen.filter((peer) => !peer.startsWith('flood-') && peer !== 'good-1')).toEqual([])
    const { dropped } = await clusterHealth(one)
    expect(dropped).toMatchObject({ oversized: 2, invalid: 3, 'wrong-topic': 1 })
    // The relay still serves.
    a.send(announce('after'))
    await until(() => a.frames.some((frame) => (frame.data as { from: string }).from === 'after'), 'the relay still answers')
  })

  it('Redis down: each relay serves its own clients and /healthz says so; back up: shared again', async () => {
    const prefix = freshPrefix()
    const one = await startRelay(prefix, 'one')
    const two = await startRelay(prefix, 'two')
    await until(async () => (await redisUp(one)) && (await redisUp(two)), 'redis up on both')
    const a1 = await connectClient(one.signal)
    const a2 = await connectClient(one.signal)
    const b = await connectClient(two.signal)
    for (const client of [a1, a2, b]) client.send({ type: 'subscribe', topics: ['room-a'] })
    await until(async () => (await channelSubscribers(prefix, 'room-a')) === 2, 'both on the channel')
    try {
      await redis.stop()
      await until(async () => (await clusterHealth(one)).redis.state === 'down', 'one says redis is down')
      const down = await clusterHealth(one)
      expect(down.redis.lastError).not.toBeNull()
      expect(down.instances).toEqual([])
      a1.send(announce('local-only'))
      await until(() => a2.frames.length === 1, 'the local delivery')
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(b.frames).toEqual([])
      expect((await clusterHealth(one)).unsent).toBeGreaterThanOrEqual(1)
    } finally {
      await redis.start()
    }
    await until(async () => (await redisUp(one)) && (await redisUp(two)), 'redis up again', 15_000)
    await until(async () => (await channelSubscribers(prefix, 'room-a')) === 2, 'both resubscribed')
    a1.send(announce('shared-again'))
    await until(() => b.frames.some((frame) => (frame.data as { from: string }).from === 'shared-again'), 'shared again')
  })

  it('without RELAY_REDIS_URL there is no cluster', async () => {
    const config = loadConfig({ PORT: '0', RELAY_STATIC_DIR: '/nonexistent', RELAY_LOG: 'silent' })
    expect(config.cluster.redisUrl).toBeNull()
    const relay = createRelay(config, { shutdownGraceMs: 200 })
    const { port } = await relay.listen()
    cleanups.push(() => relay.close())
    const body = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { cluster: unknown }
    expect(body.cluster).toBeNull()
  })

  it('refuses bad settings at startup', () => {
    expect(() => loadConfig({ RELAY_REDIS_URL: 'http://x' })).toThrow(/RELAY_REDIS_URL/)
    expect(() => loadConfig({ RELAY_REDIS_PREFIX: 'a b' })).toThrow(/RELAY_REDIS_PREFIX/)
    expect(() => loadConfig({ RELAY_INSTANCE_ID: 'x'.repeat(65) })).toThrow(/RELAY_INSTANCE_ID/)
    expect(() => loadConfig({ RELAY_CLUSTER_FRAMES_PER_S: '0' })).toThrow(/RELAY_CLUSTER_FRAMES_PER_S/)
  })
})

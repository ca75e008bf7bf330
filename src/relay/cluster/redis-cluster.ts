// Relay processes that share one Redis form one signaling hub: a publish from a local client
// also goes to the Redis channel of its topic, and each instance listens only to the channels
// of topics that have local subscribers. Every instance heartbeats a key with a TTL (its id,
// version, connections, start) and its id into a sorted set by time, which /healthz lists. Redis down: the relay goes on serving
// its own clients, retries with backoff, and says so in /healthz.
import { Redis } from 'ioredis'
import * as v from 'valibot'
import type { PublishFrame } from '../../shared/signaling'
import type { Logger } from '../log'
import { createKeyedBuckets } from '../token-bucket'
import { redactRedisUrl, type ClusterSettings } from './config'
import { encodeClusterMessage, parseClusterMessage, type ClusterDrop } from './message'

export interface InstanceInfo {
  id: string
  version: string
  connections: number
  rooms: number
  /** ms since the epoch */
  startedAt: number
  seenAt: number
}

export type RedisState = 'connecting' | 'up' | 'down'

export interface ClusterHealth {
  instanceId: string
  /** `lastError`: why it is down (null while up). */
  redis: { url: string; state: RedisState; sinceMs: number; lastError: string | null }
  /** The instances whose heartbeat is alive, as last listed (this one included). */
  instances: InstanceInfo[]
  /** Frames sent to Redis, received from other instances, and dropped of those received (or unsent while down). */
  published: number
  received: number
  unsent: number
  dropped: Record<ClusterDrop, number>
}

/** The signaling hub's view of the other instances. */
export interface SignalingCluster {
  readonly instanceId: string
  /** `topic` got its first local subscriber: this instance listens to its channel. */
  opened(topic: string): void
  /** `topic`'s last local subscriber left. */
  closed(topic: string): void
  /** A local client's publish, for the other instances' subscribers. */
  publish(frame: PublishFrame): void
  /** Where the other instances' frames go (to this instance's subscribers of the topic). */
  onFrame(deliver: (frame: PublishFrame) => void): void
  health(): ClusterHealth
  close(): Promise<void>
}

export interface ClusterOptions {
  version: string
  maxFrameBytes: number
  /** This instance's numbers, for its heartbeat. */
  stats: () => { connections: number; rooms: number }
  log: Logger
  heartbeatMs?: number
}

const instanceSchema = v.object({
  id: v.pipe(v.string(), v.maxLength(64)),
  version: v.pipe(v.string(), v.maxLength(64)),
  connections: v.pipe(v.number(), v.integer(), v.minValue(0)),
  rooms: v.pipe(v.number(), v.integer(), v.minValue(0)),
  startedAt: v.pipe(v.number(), v.finite()),
  seenAt: v.pipe(v.number(), v.finite()),
})

const maxListedInstances = 100
const subscribeBatch = 500

/** ioredis's reconnect wait: exponential, capped at 5 s, jittered. */
function retryDelayMs(times: number): number {
  return Math.round(Math.min(5_000, 100 * 2 ** Math.min(times, 6)) * (0.5 + Math.random() / 2))
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Connects to `settings.redisUrl` (not null) and joins the cluster there. */
export function createRedisCluster(settings: ClusterSettings & { redisUrl: string }, options: ClusterOptions): SignalingCluster {
  const { prefix, instanceId } = settings
  const { log } = options
  const heartbeatMs = options.heartbeatMs ?? 5_000
  const startedAt = Date.now()
  const channelPrefix = `${prefix}signal:`
  const instanceKeyPrefix = `${prefix}instance:`
  const instanceIndex = `${prefix}instances`
  const instanceTtlMs = 3 * heartbeatMs
  const url = redactRedisUrl(settings.redisUrl)
  const redisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResubscribe: false,
    connectTimeout: 5_000,
    retryStrategy: retryDelayMs,
  }
  const pub = new Redis(settings.redisUrl, { ...redisOptions, connectionName: `${instanceId}:pub` })
  const sub = new Redis(settings.redisUrl, { ...redisOptions, connectionName: `${instanceId}:sub` })
  const topics = new Set<string>()
  const fromInstances = createKeyedBuckets({ ratePerS: settings.framesPerSPerInstance, burst: 4 * settings.framesPerSPerInstance }, 1_000)
  const dropped: Record<ClusterDrop, number> = { oversized: 0, invalid: 0, 'wrong-topic': 0, 'rate-limited': 0 }
  let deliver: (frame: PublishFrame) => void = () => undefined
  let instances: InstanceInfo[] = []
  let state: RedisState = 'connecting'
  let sinceMs = Date.now()
  let lastError: string | null = null
  let published = 0
  let received = 0
  let unsent = 0
  let closed = false

  const ready = (): boolean => pub.status === 'ready' && sub.status === 'ready'

  const setState = (next: RedisState): void => {
    if (next === state) return
    const previous = state
    state = next
    sinceMs = Date.now()
    if (next === 'up') log.info('redis up: sharing signaling with the other relays', { url, instanceId, topics: topics.size })
    else if (previous === 'up' || next === 'down') log.warn('redis down: serving this relay’s own clients only, retrying', { url, instanceId, error: lastError })
  }

  const onError = (error: Error): void => {
    lastError = error.message
    log.debug('redis error', { url, error: error.message })
  }

  const resubscribe = async (): Promise<void> => {
    const channels = [...topics].map((topic) => channelPrefix + topic)
    for (let at = 0; at < channels.length; at += subscribeBatch) await sub.subscribe(...channels.slice(at, at + subscribeBatch))
  }

  // The live instances: a sorted set of ids by last heartbeat (cheap to read on a shared Redis),
  // each with its info under a key that expires, so a crashed instance drops out by itself.
  const listInstances = async (nowMs: number): Promise<InstanceInfo[]> => {
    await pub.zremrangebyscore(instanceIndex, '-inf', String(nowMs - instanceTtlMs))
    const ids = await pub.zrange(instanceIndex, 0, String(maxListedInstances - 1))
    if (ids.length === 0) return []
    const values = await pub.mget(...ids.map((id) => instanceKeyPrefix + id))
    const listed: InstanceInfo[] = []
    for (const value of values) {
      if (value === null) continue
      try {
        const parsed = v.safeParse(instanceSchema, JSON.parse(value))
        if (parsed.success) listed.push(parsed.output)
      } catch {
        // Not ours, or broken: not listed.
      }
    }
    return listed.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id))
  }

  const heartbeat = async (): Promise<void> => {
    if (!ready()) return
    const nowMs = Date.now()
    const info: InstanceInfo = { id: instanceId, version: options.version, ...options.stats(), startedAt, seenAt: nowMs }
    await pub
      .multi()
      .set(instanceKeyPrefix + instanceId, JSON.stringify(info), 'PX', instanceTtlMs)
      .zadd(instanceIndex, nowMs, instanceId)
      .exec()
    instances = await listInstances(nowMs)
  }

  const beat = (): void => {
    heartbeat().catch((error: unknown) => {
      lastError = messageOf(error)
      log.debug('redis heartbeat failed', { url, error: lastError })
    })
  }

  const onReady = (): void => {
    if (!ready() || closed) return
    resubscribe().then(
      () => {
        lastError = null
        setState('up')
        beat()
      },
      (error: unknown) => {
        lastError = messageOf(error)
        log.warn('redis: resubscribing failed', { url, error: lastError })
      },
    )
  }

  const onDown = (): void => {
    if (closed) return
    if (state === 'connecting' && lastError === null) return
    lastError ??= 'the connection to Redis closed'
    setState('down')
  }

  for (const client of [pub, sub]) {
    client.on('error', onError)
    client.on('ready', onReady)
    client.on('close', onDown)
    client.on('end', onDown)
  }

  sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
    const name = channel.toString('utf8')
    if (!name.startsWith(channelPrefix)) return
    const topic = name.slice(channelPrefix.length)
    if (!topics.has(topic)) return
    const parsed = parseClusterMessage(message, topic, options.maxFrameBytes)
    if (typeof parsed === 'string') {
      dropped[parsed] += 1
      log.debug('cluster frame dropped', { reason: parsed, topic: topic.slice(0, 80) })
      return
    }
    // Our own publish, come back: its local subscribers have it already.
    if (parsed.from === instanceId) return
    if (!fromInstances.take(parsed.from)) {
      dropped['rate-limited'] += 1
      return
    }
    received += 1
    deliver(parsed.frame)
  })

  const timer = setInterval(beat, heartbeatMs)
  timer.unref()

  return {
    instanceId,
    opened(topic) {
      topics.add(topic)
      if (sub.status === 'ready') sub.subscribe(channelPrefix + topic).catch(onError)
    },
    closed(topic) {
      topics.delete(topic)
      if (sub.status === 'ready') sub.unsubscribe(channelPrefix + topic).catch(onError)
    },
    publish(frame) {
      if (pub.status !== 'ready') {
        unsent += 1
        return
      }
      published += 1
      pub.publish(channelPrefix + frame.topic, encodeClusterMessage(instanceId, frame)).catch((error: unknown) => {
        unsent += 1
        onError(error instanceof Error ? error : new Error(String(error)))
      })
    },
    onFrame(next) {
      deliver = next
    },
    health: () => ({
      instanceId,
      redis: { url, state, sinceMs, lastError },
      instances: state === 'up' ? instances : [],
      published,
      received,
      unsent,
      dropped: { ...dropped },
    }),
    async close() {
      closed = true
      clearInterval(timer)
      if (pub.status === 'ready') {
        await pub
          .multi()
          .del(instanceKeyPrefix + instanceId)
          .zrem(instanceIndex, instanceId)
          .exec()
          .catch(() => null)
      }
      pub.disconnect()
      sub.disconnect()
    },
  }
}

// Configuration of the relays' shared signaling, from the environment:
//
//   RELAY_REDIS_URL          redis://[user:password@]host:port[/db] (or rediss://): relay
//                            processes that name the same Redis share signaling topics; none:
//                            this process alone, as without it
//   RELAY_REDIS_PREFIX       the prefix of every key and channel (several deployments on one
//                            Redis); default "edgeswarm:"
//   RELAY_INSTANCE_ID        this process's name in /healthz; default host-pid-random
//   RELAY_CLUSTER_FRAMES_PER_S  frames a second this relay takes from any one other instance
//                            (bursts of 4×); default 5000
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import type { Env } from '../env'

export interface ClusterSettings {
  /** null: no Redis, one process alone. */
  redisUrl: string | null
  prefix: string
  instanceId: string
  framesPerSPerInstance: number
}

const redisUrlPattern = /^rediss?:\/\/[^\s]+$/
const prefixPattern = /^[A-Za-z0-9:_.-]{1,64}$/
const instanceIdPattern = /^[A-Za-z0-9:_.-]{1,64}$/
export const maxInstanceIdLength = 64

function defaultInstanceId(): string {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, 40) || 'relay'
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`
}

/** Reads the cluster settings; each problem goes to `problems`. */
export function loadClusterSettings(env: Env, problems: string[]): ClusterSettings {
  const redisUrl = env.RELAY_REDIS_URL?.trim() || null
  if (redisUrl !== null && !redisUrlPattern.test(redisUrl)) problems.push('RELAY_REDIS_URL is not a redis:// or rediss:// URL')
  const prefix = env.RELAY_REDIS_PREFIX?.trim() || 'edgeswarm:'
  if (!prefixPattern.test(prefix)) problems.push(`RELAY_REDIS_PREFIX=${JSON.stringify(prefix.slice(0, 80))}: expected up to 64 of A-Z a-z 0-9 : _ . -`)
  const instanceId = env.RELAY_INSTANCE_ID?.trim() || defaultInstanceId()
  if (!instanceIdPattern.test(instanceId)) problems.push(`RELAY_INSTANCE_ID=${JSON.stringify(instanceId.slice(0, 80))}: expected up to 64 of A-Z a-z 0-9 : _ . -`)
  const rawRate = env.RELAY_CLUSTER_FRAMES_PER_S?.trim() || '5000'
  const framesPerSPerInstance = /^\d+$/.test(rawRate) ? Number(rawRate) : Number.NaN
  if (!Number.isSafeInteger(framesPerSPerInstance) || framesPerSPerInstance < 1 || framesPerSPerInstance > 10_000_000) {
    problems.push(`RELAY_CLUSTER_FRAMES_PER_S=${JSON.stringify(rawRate.slice(0, 40))}: expected an integer number of frames per second from 1 to 10000000`)
  }
  return {
    redisUrl: redisUrl !== null && redisUrlPattern.test(redisUrl) ? redisUrl : null,
    prefix,
    instanceId,
    framesPerSPerInstance: Number.isSafeInteger(framesPerSPerInstance) ? framesPerSPerInstance : 5000,
  }
}

/** The URL without its password, for logs and /healthz. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'redis://(unparseable)'
  }
}

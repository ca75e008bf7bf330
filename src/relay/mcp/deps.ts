// What the MCP server's tools and resources reach of the relay: the backends as /v1 picks them,
// the same tokens' rate and budget, /v1's caps, and the rooms of the swarm gateway (RELAY_ROOMS).
import { registerError } from '../../shared/errors'
import { isSwarmBackend, type SwarmRooms } from '../gateway/backend'
import type { Logger } from '../log'
import type { Access } from '../v1/access'
import type { V1Api } from '../v1/api'
import type { Backend } from '../v1/backend'
import type { V1Config } from '../v1/config'
import type { RequestCaps } from '../v1/request'

export interface McpDeps {
  /** The backend for a model, as /v1 picks it (throws the ApiError /v1 would answer). */
  pick(model: string): Backend
  readonly backends: readonly Backend[]
  /** The rate and the day budget of /v1's callers; MCP's calls spend from the same budget. */
  readonly access: Access
  readonly caps: RequestCaps
  /** The gateway's rooms; null without RELAY_ROOMS. */
  readonly rooms: SwarmRooms | null
  /** How long a job waits for a node of the room with a ready model (RELAY_SWARM_WAIT_MS). */
  readonly peerWaitMs: number
  readonly log: Logger
}

/** A tool call refused for what its caller asked (a room not joined, a peer missing): an MCP tool error, never a protocol error. */
export class McpToolError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override readonly name = 'McpToolError'
}

/** The deps of the relay's MCP server over its /v1 (the same backends, tokens and caps). */
export function mcpDepsOf(v1: Pick<V1Api, 'pick' | 'backends' | 'access'>, config: Pick<V1Config, 'maxMessages' | 'maxTokens' | 'swarm'>, log: Logger): McpDeps {
  const swarm = v1.backends.find(isSwarmBackend)
  return {
    pick: (model) => v1.pick(model),
    backends: v1.backends,
    access: v1.access,
    caps: { maxMessages: config.maxMessages, maxTokens: config.maxTokens },
    rooms: swarm?.rooms ?? null,
    peerWaitMs: config.swarm?.peerWaitMs ?? 0,
    log,
  }
}

import * as v from 'valibot'
import type { LocalEngine } from './inference/local-engine'
import { ChatRequestSchema, type ChatChunk, type ChatRequest } from './inference/types'
import type { MemoryItem } from './memory/store'
import { EngineUnavailableError, ValidationError } from './shared/errors'
import type { Unsubscribe } from './shared/events'
import type { Capabilities, EnginePresence, NodeStatus } from './shared/protocol'
import type { NodeEvents, SwarmNode } from './swarm/node'
import type { Peer } from './swarm/peers'

/** A peer as scripts see it through `globalThis.edgeswarm.peers()`. */
export interface PeerView {
  id: string
  compatible: boolean
  protocol: number
  capabilities: Capabilities | null
  engine: EnginePresence | null
  status: NodeStatus | 'incompatible'
  visible: boolean
  tabs: number
  lastSeenMs: number
}

export type Route = 'local' | 'swarm' | 'relay'

export interface ApiEvents {
  peers: PeerView[]
  join: PeerView
  leave: PeerView
  memory: MemoryItem[]
}

/** `globalThis.edgeswarm`: the page's public face for scripts and tests (see README). */
export interface EdgeswarmApi {
  readonly nodeId: string
  readonly room: string
  peers(): PeerView[]
  on<K extends keyof ApiEvents>(event: K, listener: (payload: ApiEvents[K]) => void): Unsubscribe
  /** Streams OpenAI chat chunks, routed as the app routes (`route` forces one). Break to stop. */
  chat(request: ChatRequest & { route?: Route }): AsyncIterable<ChatChunk>
  readonly memory: {
    add(text: string, tags?: string[]): Promise<string>
    update(id: string, text: string, tags?: string[]): Promise<void>
    remove(id: string): boolean
    list(): Promise<MemoryItem[]>
    search(query: string): Promise<MemoryItem[]>
  }
}

declare global {
  var edgeswarm: EdgeswarmApi | undefined
}

export function peerView(peer: Peer): PeerView {
  return {
    id: peer.nodeId,
    compatible: peer.compatible,
    protocol: peer.proto,
    capabilities: peer.presence?.caps ?? null,
    engine: peer.presence?.engine ?? null,
    status: peer.presence?.status ?? 'incompatible',
    visible: peer.presence?.visible ?? false,
    tabs: peer.tabs,
    lastSeenMs: peer.lastSeenMs,
  }
}

const ApiChatSchema = v.object({ ...ChatRequestSchema.entries, route: v.optional(v.picklist(['local', 'swarm', 'relay'])) })

/** Validates a script's request and runs it where it should run. */
async function* routeChat(engine: LocalEngine, request: unknown): AsyncGenerator<ChatChunk> {
  const parsed = v.safeParse(ApiChatSchema, request)
  if (!parsed.success) throw new ValidationError(`bad chat request: ${parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'request'}: ${issue.message}`).join('; ')}`)
  const { route = 'local', ...chat } = parsed.output
  if (route !== 'local') throw new EngineUnavailableError(`route "${route}" is not available yet: only local answers for now`)
  yield* engine.chat(chat)
}

export function createApi(node: SwarmNode, engine: LocalEngine): EdgeswarmApi {
  const adapt: { [K in keyof ApiEvents]: (payload: NodeEvents[K]) => ApiEvents[K] } = {
    peers: (peers) => peers.map(peerView),
    join: peerView,
    leave: peerView,
    memory: (items) => [...items],
  }
  return {
    nodeId: node.nodeId,
    room: node.config.room,
    peers: () => node.peers().map(peerView),
    chat: (request) => routeChat(engine, request),
    on: (event, listener) => node.on(event, (payload) => listener(adapt[event](payload as never))),
    memory: {
      add: (text, tags) => node.memory.add({ text, ...(tags ? { tags } : {}) }),
      update: (id, text, tags) => node.memory.update(id, { text, ...(tags ? { tags } : {}) }),
      remove: (id) => node.memory.remove(id),
      list: () => node.memory.list(),
      search: (query) => node.memory.search(query),
    },
  }
}

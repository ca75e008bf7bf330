import type { MemoryItem } from './memory/store'
import type { Unsubscribe } from './shared/events'
import type { Capabilities, NodeStatus } from './shared/protocol'
import type { NodeEvents, SwarmNode } from './swarm/node'
import type { Peer } from './swarm/peers'

/** A peer as scripts see it through `globalThis.edgeswarm.peers()`. */
export interface PeerView {
  id: string
  compatible: boolean
  protocol: number
  capabilities: Capabilities | null
  status: NodeStatus | 'incompatible'
  visible: boolean
  tabs: number
  lastSeenMs: number
}

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
    status: peer.presence?.status ?? 'incompatible',
    visible: peer.presence?.visible ?? false,
    tabs: peer.tabs,
    lastSeenMs: peer.lastSeenMs,
  }
}

export function createApi(node: SwarmNode): EdgeswarmApi {
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

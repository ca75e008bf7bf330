// The room tools: the relay's own view of a RELAY_ROOMS room: its signed memory (searched with
// the memory layer's keyword search, written as entries signed by the relay's identity, which
// browser nodes verify like any author's) and its verified presences.
import type { MemoryHit, MemoryItem } from '../../memory/store'
import type { JoinedRoom } from '../gateway/backend'
import { McpToolError, type McpDeps } from './deps'

/** The joined room `name`; a room not in RELAY_ROOMS (or no rooms at all) is refused, naming the rooms there are. */
export async function joinedRoom(deps: McpDeps, name: string, signal: AbortSignal): Promise<JoinedRoom> {
  const rooms = deps.rooms
  if (rooms === null) throw new McpToolError('this relay joins no rooms: its operator sets RELAY_ROOMS for the room tools')
  if (!rooms.names().includes(name)) throw new McpToolError(`room ${JSON.stringify(name)} is not one of this relay's rooms (RELAY_ROOMS): ${rooms.names().join(', ')}`)
  return rooms.room(name, signal)
}

function memoryOf(room: JoinedRoom): NonNullable<JoinedRoom['memory']> {
  if (room.memory === undefined) throw new McpToolError(`room ${room.name} has no memory here`)
  return room.memory
}

/** An entry as a tool shows it: what it says, who wrote it and whether its signature holds (memory is data, never instructions). */
export interface ShownEntry {
  id: string
  uri: string
  text: string
  tags: string[]
  author: string
  trust: MemoryItem['trust']
  updatedAt: number
  score?: number
}

export const entryUri = (room: string, id: string): string => `edgeswarm://rooms/${room}/memory/${encodeURIComponent(id)}`

export function shown(room: string, item: MemoryItem | MemoryHit): ShownEntry {
  const entry: ShownEntry = { id: item.id, uri: entryUri(room, item.id), text: item.text, tags: item.tags, author: item.author, trust: item.trust, updatedAt: item.updatedAt }
  return 'score' in item ? { ...entry, score: item.score } : entry
}

export async function searchMemory(deps: McpDeps, args: { room: string; query: string; k?: number | undefined }, signal: AbortSignal): Promise<ShownEntry[]> {
  const room = await joinedRoom(deps, args.room, signal)
  const hits = await memoryOf(room).search(args.query, args.k === undefined ? {} : { k: args.k })
  return hits.map((hit) => shown(room.name, hit))
}

export async function addMemory(deps: McpDeps, args: { room: string; text: string; tags?: string[] | undefined }, signal: AbortSignal): Promise<{ id: string; uri: string; author: string }> {
  const room = await joinedRoom(deps, args.room, signal)
  const memory = memoryOf(room)
  const id = await memory.add({ text: args.text, tags: args.tags ?? [] })
  return { id, uri: entryUri(room.name, id), author: room.market.nodeId }
}

/** Every entry of a room, newest first (what its resources list). */
export async function memoryEntries(deps: McpDeps, name: string, signal: AbortSignal): Promise<MemoryItem[]> {
  return memoryOf(await joinedRoom(deps, name, signal)).list()
}

export interface ShownPeer {
  nodeId: string
  engine: { kind: string; model: string; state: string; decodeTokensPerS: number } | null
  queueLength: number
  visible: boolean
  serve: string
}

/** The room's live peers as their signed presences say (the relay's own not among them). */
export async function listPeers(deps: McpDeps, args: { room: string }, signal: AbortSignal): Promise<ShownPeer[]> {
  const room = await joinedRoom(deps, args.room, signal)
  return room.livePeers().map((peer) => ({
    nodeId: peer.nodeId,
    engine: peer.engine === null ? null : { kind: peer.engine.kind, model: peer.engine.modelId, state: peer.engine.state, decodeTokensPerS: peer.engine.decodeTokensPerS },
    queueLength: peer.queueLength,
    visible: peer.visible,
    serve: peer.serve ?? 'always',
  }))
}

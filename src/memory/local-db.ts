import { openDB, type DBSchema, type IDBPDatabase } from 'idb'

/** One message of a conversation as kept locally, with where and how fast it ran. */
export interface StoredMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
  meta?: {
    engine: string
    model: string
    /** Who answered: this node's id, or a peer's. */
    nodeId: string
    timeToFirstTokenMs: number
    tokensPerS: number
    finish: string
    /** Why it ran elsewhere than asked (e.g. the relay was unreachable). */
    note?: string
    /** Where it ran: this node's small model, a peer's, or the relay's. */
    route?: 'local' | 'swarm' | 'relay'
    /** The router's advice, when the route was left to it. */
    decision?: { route: 'local' | 'swarm' | 'relay'; confidence: number }
    /** What the user said of the answer. */
    rating?: 'up' | 'down'
    /** How the history was fitted to the window, when turns were left out ("12 earlier turns summarised, 3 dropped to fit 4096 tokens"). */
    fit?: string
  }
  error?: string
  /** The steps of the agent loop that wrote this answer, and how it ended. */
  agent?: StoredAgentRun
  /** The room's memory entries quoted into the prompt of this answer, as they were then. */
  memory?: { id: string; author: string; verified: boolean; text: string }[]
}

/** One step of an agent run as the chat keeps it: a thought, a tool call (its arguments as text), or a tool's result. */
export interface StoredAgentStep {
  kind: 'thought' | 'call' | 'result'
  step: number
  /** The tool called (empty for a thought, or a step with no call). */
  name: string
  text: string
  ok?: boolean
}

export interface StoredAgentRun {
  steps: StoredAgentStep[]
  /** Unset while it runs. */
  end?: 'answer' | 'step-limit' | 'stopped' | 'failed'
}

export interface StoredConversation {
  id: string
  title: string
  createdAt: number
  updatedAt: number
  messages: StoredMessage[]
  /** The model's summary of the conversation's first `turns` turns (after its system prompt), used in their place once they no longer fit. */
  summary?: { turns: number; text: string }
}

/**
 * A room this profile has been in, for the room list and for opening the last one. The key is
 * kept because the invite link holds it anyway and the profile is the user's own; it is never
 * sent anywhere.
 */
export interface StoredRoom {
  /** roomIdOf(room, key): a room name with another key is another room. */
  id: string
  room: string
  key: string | null
  /** The user's own name for it, local only; empty: the room name is shown. */
  name: string
  createdAt: number
  lastOpenAt: number
  /** Distinct peers seen in it, and memory entries, when last open. */
  peersSeen: number
  memoryCount: number
  /** The peers' node ids behind peersSeen (at most maxPeerIdsKept, see rooms.ts), so a peer seen again is not counted twice. */
  peerIds?: string[]
}

/** The profile's own database (not shared): identity, settings, conversations, micro-net weights. */
interface LocalSchema extends DBSchema {
  identity: { key: 'self'; value: { keys: CryptoKeyPair; createdAt: number } }
  settings: { key: string; value: unknown }
  conversations: { key: string; value: StoredConversation; indexes: { updatedAt: number } }
  /** A micro-net's learned state by net name; validated on read (see net-store.ts). */
  nets: { key: string; value: unknown }
  /** Rooms this profile has been in (see StoredRoom), by when they were last open. */
  rooms: { key: string; value: StoredRoom; indexes: { lastOpenAt: number } }
}

export type LocalDb = IDBPDatabase<LocalSchema>

const dbName = 'edgeswarm'
const dbVersion = 4

export function openLocalDb(): Promise<LocalDb> {
  return openDB<LocalSchema>(dbName, dbVersion, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('identity')
        db.createObjectStore('settings')
      }
      if (oldVersion < 2) db.createObjectStore('conversations', { keyPath: 'id' }).createIndex('updatedAt', 'updatedAt')
      if (oldVersion < 3) db.createObjectStore('nets')
      if (oldVersion < 4) db.createObjectStore('rooms', { keyPath: 'id' }).createIndex('lastOpenAt', 'lastOpenAt')
    },
  })
}

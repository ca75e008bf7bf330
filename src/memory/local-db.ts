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

/** The profile's own database (not shared): identity, settings, conversations, micro-net weights. */
interface LocalSchema extends DBSchema {
  identity: { key: 'self'; value: { keys: CryptoKeyPair; createdAt: number } }
  settings: { key: string; value: unknown }
  conversations: { key: string; value: StoredConversation; indexes: { updatedAt: number } }
  /** A micro-net's learned state by net name; validated on read (see net-store.ts). */
  nets: { key: string; value: unknown }
}

export type LocalDb = IDBPDatabase<LocalSchema>

const dbName = 'edgeswarm'
const dbVersion = 3

export function openLocalDb(): Promise<LocalDb> {
  return openDB<LocalSchema>(dbName, dbVersion, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('identity')
        db.createObjectStore('settings')
      }
      if (oldVersion < 2) db.createObjectStore('conversations', { keyPath: 'id' }).createIndex('updatedAt', 'updatedAt')
      if (oldVersion < 3) db.createObjectStore('nets')
    },
  })
}

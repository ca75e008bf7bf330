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
  }
  error?: string
}

export interface StoredConversation {
  id: string
  title: string
  createdAt: number
  updatedAt: number
  messages: StoredMessage[]
}

/** The profile's own database (not shared): identity, settings, conversations. */
interface LocalSchema extends DBSchema {
  identity: { key: 'self'; value: { keys: CryptoKeyPair; createdAt: number } }
  settings: { key: string; value: unknown }
  conversations: { key: string; value: StoredConversation; indexes: { updatedAt: number } }
}

export type LocalDb = IDBPDatabase<LocalSchema>

const dbName = 'edgeswarm'
const dbVersion = 2

export function openLocalDb(): Promise<LocalDb> {
  return openDB<LocalSchema>(dbName, dbVersion, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('identity')
        db.createObjectStore('settings')
      }
      if (oldVersion < 2) db.createObjectStore('conversations', { keyPath: 'id' }).createIndex('updatedAt', 'updatedAt')
    },
  })
}

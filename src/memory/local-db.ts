import { openDB, type DBSchema, type IDBPDatabase } from 'idb'

/** The profile's own database (not shared): identity and settings; later, nets and chats. */
interface LocalSchema extends DBSchema {
  identity: { key: 'self'; value: { keys: CryptoKeyPair; createdAt: number } }
  settings: { key: string; value: unknown }
}

export type LocalDb = IDBPDatabase<LocalSchema>

const dbName = 'edgeswarm'
const dbVersion = 1

export function openLocalDb(): Promise<LocalDb> {
  return openDB<LocalSchema>(dbName, dbVersion, {
    upgrade(db) {
      db.createObjectStore('identity')
      db.createObjectStore('settings')
    },
  })
}

import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { IndexedVector } from './vector-index'

/** One stored embedding: per room, per entry, with the entry version and model it was made from. */
export interface StoredVector extends IndexedVector {
  room: string
  id: string
  model: string
}

interface EmbeddingSchema extends DBSchema {
  vectors: { key: [string, string]; value: StoredVector; indexes: { room: string } }
}

/**
 * The embeddings of the room's memory entries, kept on this device beside the doc (not shared:
 * any peer could send vectors that do not match their text). A database of its own, so the
 * profile's database (local-db.ts) keeps its schema version.
 */
export interface EmbeddingStore {
  /** This room's vectors of `model`, validated; others of the room (another model) are dropped. */
  load(room: string, model: string, dimensions: number): Promise<Map<string, IndexedVector>>
  put(vectors: readonly StoredVector[]): Promise<void>
  remove(room: string, ids: readonly string[]): Promise<void>
}

const dbName = 'edgeswarm-embeddings'

export async function openEmbeddingStore(): Promise<EmbeddingStore> {
  const db: IDBPDatabase<EmbeddingSchema> = await openDB<EmbeddingSchema>(dbName, 1, {
    upgrade(database) {
      database.createObjectStore('vectors', { keyPath: ['room', 'id'] }).createIndex('room', 'room')
    },
  })
  return {
    async load(room, model, dimensions) {
      const kept = new Map<string, IndexedVector>()
      const stale: [string, string][] = []
      for (const row of await db.getAllFromIndex('vectors', 'room', room)) {
        const valid = typeof row.id === 'string' && typeof row.version === 'string' && row.vector instanceof Float32Array && row.vector.length === dimensions && row.model === model
        if (valid) kept.set(row.id, { version: row.version, vector: row.vector })
        else stale.push([room, row.id])
      }
      if (stale.length > 0) {
        const tx = db.transaction('vectors', 'readwrite')
        await Promise.all([...stale.map((key) => tx.store.delete(key)), tx.done])
      }
      return kept
    },
    async put(vectors) {
      const tx = db.transaction('vectors', 'readwrite')
      await Promise.all([...vectors.map((row) => tx.store.put(row)), tx.done])
    },
    async remove(room, ids) {
      const tx = db.transaction('vectors', 'readwrite')
      await Promise.all([...ids.map((id) => tx.store.delete([room, id])), tx.done])
    },
  }
}

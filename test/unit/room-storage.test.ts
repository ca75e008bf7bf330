import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { MemoryDocStorage, MemoryDocStore } from '../../src/swarm/room/storage'
import { runDocStorageTests } from './room-storage/suite'

// IndexeddbDocStorage runs only in a browser (there is no IndexedDB in Node and no fake one
// among the dependencies): the suite runs here on the memory storage; the browser's storage
// is covered end to end by test/e2e/storage-full.spec.ts and room.spec.ts.
runDocStorageTests('memory', () => {
  const store = new MemoryDocStore()
  return {
    open: (doc) => new MemoryDocStorage(doc, store),
    makeFull: () => void (store.quotaBytes = store.bytes),
    makeRoom: () => void (store.quotaBytes = Infinity),
    teardown: () => undefined,
  }
})

describe('MemoryDocStorage', () => {
  it('stores the whole doc with the first change after refused ones, so a reload has them all', async () => {
    const store = new MemoryDocStore()
    const doc = new Y.Doc()
    const storage = new MemoryDocStorage(doc, store)
    doc.getMap('memory').set('before', 1)
    store.quotaBytes = store.bytes
    doc.getMap('memory').set('refused', 2)
    store.quotaBytes = Infinity
    doc.getMap('memory').set('after', 3)
    expect(store.updates).toHaveLength(1)
    await storage.destroy()
    const reloaded = new Y.Doc()
    await new MemoryDocStorage(reloaded, store).whenSynced
    expect(reloaded.getMap('memory').toJSON()).toEqual({ before: 1, refused: 2, after: 3 })
  })
})

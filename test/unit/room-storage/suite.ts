import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { StorageFullError } from '../../../src/memory/storage-full'
import type { DocStorage } from '../../../src/swarm/room/storage'

/** One place to keep a doc, opened as often as a test likes (each open is a reload). */
export interface DocStorageSetup {
  /** A storage for `doc` over the same place each time (same name, same database). */
  open(doc: Y.Doc): DocStorage
  /** Makes the place refuse further writes for quota, until `makeRoom`. */
  makeFull(): void | Promise<void>
  makeRoom(): void | Promise<void>
  teardown(): void | Promise<void>
}

async function opened(setup: DocStorageSetup): Promise<{ doc: Y.Doc; storage: DocStorage }> {
  const doc = new Y.Doc()
  const storage = setup.open(doc)
  await storage.whenSynced
  return { doc, storage }
}

/**
 * What every DocStorage must do (the way automerge-repo runs runStorageAdapterTests on each
 * adapter). `setup` makes a fresh place for each case.
 */
export function runDocStorageTests(name: string, makeSetup: () => DocStorageSetup | Promise<DocStorageSetup>): void {
  const withSetup = (test: (setup: DocStorageSetup) => Promise<void>) => async () => {
    const setup = await makeSetup()
    try {
      await test(setup)
    } finally {
      await setup.teardown()
    }
  }

  describe(`DocStorage contract: ${name}`, () => {
    it(
      'keeps the doc across a reopen, and the marks beside it',
      withSetup(async (setup) => {
        const first = await opened(setup)
        first.doc.getMap('memory').set('a', 'kept')
        first.storage.marks().raise('memory:a', 5)
        expect(await first.storage.whenStored()).toBe(true)
        await first.storage.destroy()
        const second = await opened(setup)
        expect(second.doc.getMap('memory').get('a')).toBe('kept')
        expect(second.storage.marks().get('memory:a')).toBe(5)
        await second.storage.destroy()
      }),
    )

    it(
      'stores nothing after destroy',
      withSetup(async (setup) => {
        const first = await opened(setup)
        first.doc.getMap('memory').set('a', 'kept')
        await first.storage.whenStored()
        await first.storage.destroy()
        first.doc.getMap('memory').set('b', 'not kept')
        const second = await opened(setup)
        expect(second.doc.getMap('memory').toJSON()).toEqual({ a: 'kept' })
        await second.storage.destroy()
      }),
    )

    it(
      'clear deletes the local copy and its marks, and the page keeps its doc',
      withSetup(async (setup) => {
        const first = await opened(setup)
        first.doc.getMap('memory').set('a', 'gone')
        first.storage.marks().raise('memory:a', 5)
        await first.storage.whenStored()
        await first.storage.clear()
        expect(first.doc.getMap('memory').get('a')).toBe('gone')
        const second = await opened(setup)
        expect(second.doc.getMap('memory').size).toBe(0)
        expect(second.storage.marks().get('memory:a')).toBeUndefined()
        await second.storage.destroy()
      }),
    )

    it(
      'tells a burst of quota failures once, whenStored says they were not stored, and the next stored change says so',
      withSetup(async (setup) => {
        const { doc, storage } = await opened(setup)
        const told: StorageFullError[] = []
        const stop = storage.onFull((error) => told.push(error))
        await setup.makeFull()
        for (let k = 0; k < 3; k++) doc.getMap('memory').set(`k${k}`, 'x'.repeat(1_000))
        expect(await storage.whenStored()).toBe(false)
        expect(told).toHaveLength(1)
        expect(told[0]?.name).toBe('StorageFullError')
        await setup.makeRoom()
        doc.getMap('memory').set('after', 'stored')
        expect(await storage.whenStored()).toBe(true)
        stop()
        await storage.destroy()
      }),
    )
  })
}

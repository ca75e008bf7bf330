import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { MemorySearch } from '../../src/memory/memory-search'
import { SemanticIndex } from '../../src/memory/semantic-index'
import { ModelLoadError } from '../../src/shared/errors'
import { MemoryStore } from '../../src/memory/store'
import { roomIdOf } from '../../src/shared/room-id'
import { generateKeyPair, signerFromKeyPair } from '../../src/shared/sign'
import { memoryEmbeddingStore, openLlamaEmbedder, type LlamaEmbedder } from './memory-support/llama-embedder'

const alice = await signerFromKeyPair(await generateKeyPair(false))
const room = await roomIdOf('lab', 'secret')
let embedder: LlamaEmbedder

beforeAll(async () => {
  embedder = await openLlamaEmbedder()
}, 60_000)
afterAll(() => embedder.dispose())

async function openIndex(store: MemoryStore, vectors = memoryEmbeddingStore()): Promise<{ index: SemanticIndex; vectors: ReturnType<typeof memoryEmbeddingStore> }> {
  const index = await SemanticIndex.open({
    source: store,
    embedder,
    model: embedder.info,
    store: vectors,
    room,
    onError: (error) => {
      throw error
    },
  })
  return { index, vectors }
}

async function settle(store: MemoryStore, index: SemanticIndex): Promise<void> {
  await store.settled()
  // The store tells its change in a microtask (or a frame later in a burst); the index then syncs.
  await new Promise((resolve) => setTimeout(resolve, 40))
  await index.settled()
}

describe('semantic index', () => {
  it('embeds added entries, re-embeds an edited one, drops a deleted one, in the store of vectors too', async () => {
    const store = new MemoryStore(new Y.Doc(), alice, room)
    const first = await store.add({ text: 'The relay listens on port 8787' })
    const second = await store.add({ text: 'Die Schlüssel bleiben im Browser' })
    const { index, vectors } = await openIndex(store)
    await settle(store, index)
    expect(index.progress()).toEqual({ indexed: 2, pending: 0, embedded: 2 })
    expect(vectors.rows.size).toBe(2)

    const third = await store.add({ text: 'Les pairs échangent la mémoire' })
    await settle(store, index)
    expect(index.progress()).toMatchObject({ indexed: 3, embedded: 3 })

    const before = index.versionOf(second)
    await store.update(second, { text: 'Die Schlüssel erreichen keinen Server' })
    await settle(store, index)
    expect(index.versionOf(second)).not.toBe(before)
    expect(index.progress()).toMatchObject({ indexed: 3, embedded: 4 })
    const [nearest] = await index.nearest('Die Schlüssel erreichen keinen Server', 1)
    expect(nearest?.id).toBe(second)
    expect(nearest?.cosine).toBeGreaterThan(0.9999)

    await store.remove(first)
    await settle(store, index)
    expect(index.versionOf(first)).toBeUndefined()
    expect([...vectors.rows.values()].map((row) => row.id).sort()).toEqual([second, third].sort())
    index.stop()
    store.stop()
  }, 30_000)

  it('reopened on the vectors it kept, it embeds only what changed meanwhile', async () => {
    const doc = new Y.Doc()
    const store = new MemoryStore(doc, alice, room)
    const kept = await store.add({ text: 'kept across reloads' })
    const changed = await store.add({ text: 'changed while closed' })
    const { index, vectors } = await openIndex(store)
    await settle(store, index)
    index.stop()
    await store.update(changed, { text: 'changed while the tab was closed' })
    await store.settled()
    const reopened = (await openIndex(store, vectors)).index
    await settle(store, reopened)
    expect(reopened.progress()).toEqual({ indexed: 2, pending: 0, embedded: 1 })
    expect(reopened.versionOf(kept)).toBe(index.versionOf(kept))
    reopened.stop()
    store.stop()
  }, 30_000)

  it("makes the store's search hybrid: an exact-text query is the vector ranking's first hit; unset, keyword only", async () => {
    const store = new MemoryStore(new Y.Doc(), alice, room)
    const texts = ['Qwen3 runs in the browser', 'The market awards the lowest bid', 'Memory entries are signed by their author']
    const ids = []
    for (const text of texts) ids.push(await store.add({ text }))
    const { index } = await openIndex(store)
    await settle(store, index)
    store.setVectorSearch(index)
    for (const [position, text] of texts.entries()) {
      const hits = await store.search(text, { k: 3 })
      expect(hits[0]).toMatchObject({ id: ids[position], vectorRank: 1, keywordRank: 1 })
      expect(hits[0]?.cosine).toBeGreaterThan(0.9999)
    }
    // A word of one entry: keyword first, and every entry still has its vector rank.
    const byWord = await store.search('market', { k: 3 })
    expect(byWord[0]).toMatchObject({ id: ids[1], keywordRank: 1 })
    expect(byWord.every((hit) => hit.vectorRank !== undefined)).toBe(true)
    store.setVectorSearch(null)
    const keywordOnly = await store.search('market', { k: 3 })
    expect(keywordOnly.map((hit) => hit.id)).toEqual([ids[1]])
    expect(keywordOnly[0]?.vectorRank).toBeUndefined()
    index.stop()
    store.stop()
  }, 30_000)

  it('a failing vector search is reported and the answer is the keyword one', async () => {
    const errors: unknown[] = []
    const store = new MemoryStore(new Y.Doc(), alice, room, { onError: (error) => errors.push(error) })
    const id = await store.add({ text: 'the relay' })
    store.setVectorSearch({ nearest: () => Promise.reject(new Error('worker gone')) })
    expect((await store.search('relay')).map((hit) => hit.id)).toEqual([id])
    expect(errors).toHaveLength(1)
    store.stop()
  })

  it('does not embed values nobody verifiable wrote', async () => {
    const doc = new Y.Doc()
    const store = new MemoryStore(doc, alice, room)
    await store.add({ text: 'a signed entry' })
    doc.getMap('memory').set('forged', { text: 'an unsigned value flooding the index', author: 'mallory' })
    await store.settled()
    const { index } = await openIndex(store)
    await settle(store, index)
    expect(store.items()).toHaveLength(2)
    expect(index.progress()).toMatchObject({ indexed: 1, embedded: 1 })
    expect(index.versionOf('forged')).toBeUndefined()
    index.stop()
    store.stop()
  })

  it('the switch: on makes search hybrid and saves the choice; off is keyword only again; a model that fails to load says so', async () => {
    const store = new MemoryStore(new Y.Doc(), alice, room)
    const id = await store.add({ text: 'the switch turns search by meaning on' })
    const saved: boolean[] = []
    const model = { url: 'http://x/tiny-embedding.gguf', bytes: 1, label: 'tiny' }
    const search = new MemorySearch({
      memory: store,
      room,
      model,
      createEmbedder: () => embedder,
      openStore: () => Promise.resolve(memoryEmbeddingStore()),
      saveEnabled: (enabled) => Promise.resolve(void saved.push(enabled)),
    })
    await search.enable()
    await search.settled()
    expect(search.state()).toMatchObject({ phase: 'on', indexed: 1 })
    expect((await store.search('the switch turns search by meaning on'))[0]).toMatchObject({ id, vectorRank: 1 })
    await search.disable()
    expect(search.state()).toEqual({ phase: 'off' })
    expect((await store.search('switch'))[0]?.vectorRank).toBeUndefined()
    expect(saved).toEqual([true, false])

    const broken = new MemorySearch({
      memory: store,
      room,
      model,
      createEmbedder: () => ({ load: () => Promise.reject(new ModelLoadError('the model is not there (404)')), embed: () => Promise.resolve([]), unload: () => Promise.resolve() }),
      openStore: () => Promise.resolve(memoryEmbeddingStore()),
      saveEnabled: () => Promise.resolve(),
    })
    await expect(broken.enable()).rejects.toThrow(ModelLoadError)
    expect(broken.state()).toEqual({ phase: 'failed', error: 'the model is not there (404)' })
    store.stop()
  }, 30_000)
})

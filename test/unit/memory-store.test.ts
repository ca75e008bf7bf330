import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { signEntry } from '../../src/memory/entry'
import { search } from '../../src/memory/search'
import { MemoryStore } from '../../src/memory/store'
import { ValidationError } from '../../src/shared/errors'
import { generateKeyPair, signerFromKeyPair } from '../../src/shared/sign'

/** Two docs that exchange every update, like two peers of a room. */
function connectedDocs(): [Y.Doc, Y.Doc] {
  const a = new Y.Doc()
  const b = new Y.Doc()
  a.on('update', (update: Uint8Array, origin: unknown) => origin !== b && Y.applyUpdate(b, update, a))
  b.on('update', (update: Uint8Array, origin: unknown) => origin !== a && Y.applyUpdate(a, update, b))
  return [a, b]
}

const alice = await signerFromKeyPair(await generateKeyPair(false))
const bob = await signerFromKeyPair(await generateKeyPair(false))

describe('memory store', () => {
  it('add, edit and delete reach the other doc, verified', async () => {
    const [docA, docB] = connectedDocs()
    const a = new MemoryStore(docA, alice, () => 1000)
    const b = new MemoryStore(docB, bob, () => 2000)
    const id = await a.add({ text: 'Paris is the capital of France', tags: ['geo'] })
    expect(await b.list()).toMatchObject([{ id, text: 'Paris is the capital of France', tags: ['geo'], author: alice.nodeId, trust: 'trusted' }])
    await b.update(id, { text: 'Paris is the capital of France (since 987)' })
    expect(await a.list()).toMatchObject([{ id, text: 'Paris is the capital of France (since 987)', author: bob.nodeId, createdAt: 1000, updatedAt: 2000, trust: 'trusted' }])
    expect(b.remove(id)).toBe(true)
    expect(await a.list()).toEqual([])
    expect(b.remove(id)).toBe(false)
  })

  it('flags an entry whose signature fails and one that is malformed', async () => {
    const [docA, docB] = connectedDocs()
    const a = new MemoryStore(docA, alice)
    const entry = await signEntry('forged', { text: 'real', tags: [] }, bob, 5)
    docB.getMap('memory').set('forged', { ...entry, text: 'forged text' })
    docB.getMap('memory').set('junk', { text: 'no signature' })
    const items = await a.list()
    expect(items.find((item) => item.id === 'forged')).toMatchObject({ text: 'forged text', trust: 'bad-signature' })
    expect(items.find((item) => item.id === 'junk')).toMatchObject({ text: 'no signature', trust: 'malformed' })
  })

  it('rejects empty or oversized drafts with a ValidationError', async () => {
    const store = new MemoryStore(new Y.Doc(), alice)
    await expect(store.add({ text: '   ' })).rejects.toThrow(ValidationError)
    await expect(store.add({ text: 'x'.repeat(8001) })).rejects.toThrow(ValidationError)
    await expect(store.add({ text: 'ok', tags: Array.from({ length: 17 }, (_, i) => `t${i}`) })).rejects.toThrow(ValidationError)
    await expect(store.update('missing', { text: 'x' })).rejects.toThrow(ValidationError)
  })

  it('a listener that throws does not stop the others', async () => {
    const errors: unknown[] = []
    const store = new MemoryStore(new Y.Doc(), alice, Date.now, (error) => errors.push(error))
    let seen = 0
    store.on('change', () => {
      throw new Error('boom')
    })
    store.on('change', () => seen++)
    await store.add({ text: 'x' })
    await store.settled()
    expect(seen).toBe(1)
    expect(errors).toHaveLength(1)
  })
})

describe('search', () => {
  const items = [
    { id: 1, text: 'The relay listens on port 8787', tags: ['ops'], updatedAt: 1 },
    { id: 2, text: 'Qwen3 runs in the browser', tags: ['models'], updatedAt: 2 },
    { id: 3, text: 'Relay tokens are comma separated', tags: [], updatedAt: 3 },
  ]
  it('matches every token by word prefix or tag, best first', () => {
    expect(search(items, 'relay').map((item) => item.id)).toEqual([3, 1])
    expect(search(items, 'relay port').map((item) => item.id)).toEqual([1])
    expect(search(items, 'model').map((item) => item.id)).toEqual([2])
    expect(search(items, 'nothing')).toEqual([])
    expect(search(items, '  ')).toEqual([])
  })
})

import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { newEntryId, signEntry, signTombstone, type MemoryEntry } from '../../src/memory/entry'
import { MemoryStore, type MemoryDelta } from '../../src/memory/store'
import { VersionVerifier, type SignatureCheck } from '../../src/memory/verifier'
import { roomIdOf } from '../../src/shared/room-id'
import { generateKeyPair, signerFromKeyPair, verifySigned } from '../../src/shared/sign'

const alice = await signerFromKeyPair(await generateKeyPair(false))
const mallory = await signerFromKeyPair(await generateKeyPair(false))
const room = await roomIdOf('lab', 'secret')
const otherRoom = await roomIdOf('lab', 'another secret')

const entryOf = (text: string, at = 1_000, inRoom = room, id = newEntryId(alice.nodeId)): Promise<MemoryEntry> => signEntry(id, inRoom, { text, tags: [] }, alice, at)
/** The same version as another object: what a second Yjs item of the same content decodes to. */
const copyOf = <T>(value: T): T => structuredClone(value)
const memoryOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap('memory')

describe('the batch verifier', () => {
  it('verifies a version once: the same version again (another object) is found kept', async () => {
    const verifier = new VersionVerifier(room)
    const id = newEntryId(alice.nodeId)
    const entry = await entryOf('kept', 1_000, room, id)
    expect(await verifier.verify(id, entry)).toMatchObject({ ok: true })
    expect(await verifier.verify(id, copyOf(entry))).toMatchObject({ ok: true, version: { text: 'kept' } })
    expect(verifier.stats).toMatchObject({ asked: 2, checked: 1, cacheHits: 1 })
  })

  it('a value with a kept signature and any other field is checked in full and refused; the kept verdict stays', async () => {
    const verifier = new VersionVerifier(room)
    const id = newEntryId(alice.nodeId)
    const entry = await entryOf('the real text', 1_000, room, id)
    expect(await verifier.verify(id, entry)).toMatchObject({ ok: true })
    for (const forged of [
      { ...entry, text: 'the forged text' },
      { ...entry, tags: ['forged'] },
      { ...entry, updatedAt: entry.updatedAt + 1 },
      { ...entry, createdAt: entry.createdAt - 1 },
    ])
      expect(await verifier.verify(id, forged)).toMatchObject({ ok: false, refusal: 'bad-signature' })
    // The same signature under another id of the same author is another payload too.
    expect(await verifier.verify(newEntryId(alice.nodeId), copyOf(entry))).toMatchObject({ ok: false, refusal: 'bad-signature' })
    expect(verifier.stats).toMatchObject({ checked: 6, cacheHits: 0 })
    expect(await verifier.verify(id, copyOf(entry))).toMatchObject({ ok: true })
    expect(verifier.stats.cacheHits).toBe(1)
  })

  it("another room's copy never hits the cache: refused by its room, or by its signature once relabelled", async () => {
    const id = newEntryId(alice.nodeId)
    const theirs = await entryOf('from the other room', 1_000, otherRoom, id)
    const there = new VersionVerifier(otherRoom)
    expect(await there.verify(id, theirs)).toMatchObject({ ok: true })
    const here = new VersionVerifier(room)
    expect(await here.verify(id, copyOf(theirs))).toMatchObject({ ok: false, refusal: 'other-room' })
    expect(await here.verify(id, { ...theirs, room })).toMatchObject({ ok: false, refusal: 'bad-signature' })
    // Even a verifier that kept the other room's verdict (one page in both rooms) checks the relabelled copy in full.
    expect(await there.verify(id, { ...theirs, room })).toMatchObject({ ok: false, refusal: 'other-room' })
    expect(here.stats.cacheHits + there.stats.cacheHits).toBe(0)
  })

  it("a tombstone's payload is its own: an entry's kept signature does not vouch for a tombstone", async () => {
    const verifier = new VersionVerifier(room)
    const id = newEntryId(alice.nodeId)
    const entry = await entryOf('to delete', 1_000, room, id)
    await verifier.verify(id, entry)
    const forged = { v: 2, room, deleted: true, author: entry.author, publicKey: entry.publicKey, updatedAt: entry.updatedAt, sig: entry.sig }
    expect(await verifier.verify(id, forged)).toMatchObject({ ok: false, refusal: 'bad-signature' })
    const tombstone = await signTombstone(id, room, alice, 2_000)
    expect(await verifier.verify(id, tombstone)).toMatchObject({ ok: true })
  })

  it('what arrives in one task is one batch; a later task is another', async () => {
    const verifier = new VersionVerifier(room)
    const entries = await Promise.all(['a', 'b', 'c'].map((text) => entryOf(text)))
    const verdicts = await Promise.all(entries.map((entry) => verifier.verify(`${entry.author}/${'x'.repeat(8)}`, entry)))
    expect(verdicts.map((verdict) => verdict.ok)).toEqual([false, false, false])
    expect(verifier.stats.batches).toBe(1)
    await verifier.verify('junk', 'not a version')
    expect(verifier.stats).toMatchObject({ batches: 2, asked: 4, checked: 3 })
  })

  it('a flood of forged values in one batch neither hides nor holds back the valid version in it', async () => {
    const id = newEntryId(alice.nodeId)
    const valid = await entryOf('the valid one', 1_000, room, id)
    const forgedSigs = new Set<string>()
    // The forgeries' checks never end: the valid version's verdict must not wait for them.
    const stalling: SignatureCheck = (author, publicKey, sig, payload) => (forgedSigs.has(sig) ? new Promise<boolean>(() => undefined) : verifySigned(author, publicKey, sig, payload))
    const verifier = new VersionVerifier(room, { check: stalling })
    const forged = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const fake = await signEntry(newEntryId(alice.nodeId), room, { text: `forged ${i}`, tags: [] }, mallory, 1_000)
        const value = { ...fake, author: alice.nodeId, publicKey: alice.publicKey }
        forgedSigs.add(value.sig)
        return value
      }),
    )
    forged.forEach((value, i) => void verifier.verify(`${alice.nodeId}/forged${String(i).padStart(4, '0')}`, value))
    const verdict = verifier.verify(id, valid)
    expect(await verdict).toMatchObject({ ok: true, version: { text: 'the valid one' } })
    expect(verifier.stats.batches).toBe(1)

    // With an honest check, every forgery of the batch is refused and the valid one accepted.
    const honest = new VersionVerifier(room)
    const all = await Promise.all([...forged.map((value, i) => honest.verify(`${alice.nodeId}/forged${String(i).padStart(4, '0')}`, value)), honest.verify(id, copyOf(valid))])
    expect(all.filter((each) => each.ok)).toHaveLength(1)
    expect(all.at(-1)).toMatchObject({ ok: true })
    expect(honest.cached).toBe(1)
  })

  it('keeps a bounded number of verdicts, by count and by size, the oldest going first', async () => {
    const byCount = new VersionVerifier(room, { maxCached: 3 })
    const entries = await Promise.all(Array.from({ length: 6 }, (_, i) => Promise.resolve({ id: newEntryId(alice.nodeId), text: `entry ${i}` })))
    const signed = await Promise.all(entries.map(({ id, text }) => entryOf(text, 1_000, room, id)))
    for (const [i, entry] of signed.entries()) await byCount.verify(entries[i]?.id ?? '', entry)
    expect(byCount.cached).toBe(3)
    // The newest three are kept, the oldest checked again.
    await byCount.verify(entries[5]?.id ?? '', copyOf(signed[5]))
    await byCount.verify(entries[0]?.id ?? '', copyOf(signed[0]))
    expect(byCount.stats).toMatchObject({ cacheHits: 1, checked: 7 })

    const bySize = new VersionVerifier(room, { maxCachedChars: 1_000 })
    for (const [i, entry] of signed.entries()) await bySize.verify(entries[i]?.id ?? '', entry)
    expect(bySize.cached).toBeGreaterThan(0)
    expect(bySize.cached).toBeLessThan(6)
    const huge = new VersionVerifier(room, { maxCachedChars: 10 })
    await huge.verify(entries[0]?.id ?? '', signed[0])
    expect(huge.cached).toBe(0)
  })
})

describe('the store with the batch verifier', () => {
  it('refuses a replay of an older version even though its signature is kept', async () => {
    const doc = new Y.Doc()
    const store = new MemoryStore(doc, mallory, room, { restoreDelayMs: 0 })
    const id = newEntryId(alice.nodeId)
    const v1 = await entryOf('version one', 1_000, room, id)
    memoryOf(doc).set(id, v1)
    await store.settled()
    memoryOf(doc).set(id, await entryOf('version two', 2_000, room, id))
    await store.settled()
    // Mallory writes version one back (the same content as a new value): its signature is kept, and it is still refused.
    memoryOf(doc).set(id, copyOf(v1))
    await store.settled()
    expect(store.verification().cacheHits).toBeGreaterThan(0)
    expect(store.refusals().replay).toBe(1)
    await store.settled()
    expect(store.items().map((item) => item.text)).toEqual(['version two'])
    expect(memoryOf(doc).get(id)).toMatchObject({ text: 'version two' })
  })

  it('lists a batch of versions with a few changes at most, and tells what changed', async () => {
    const doc = new Y.Doc()
    const store = new MemoryStore(doc, mallory, room, { restoreDelayMs: 0 })
    const lists: number[] = []
    const deltas: MemoryDelta[] = []
    store.on('change', (items) => lists.push(items.length))
    store.on('delta', (delta) => deltas.push(delta))
    const ids = Array.from({ length: 20 }, () => newEntryId(alice.nodeId))
    const entries = await Promise.all(ids.map((id, i) => entryOf(`entry ${i}`, 1_000 + i, room, id)))
    doc.transact(() => {
      entries.forEach((entry, i) => memoryOf(doc).set(ids[i] ?? '', entry))
    })
    await store.settled()
    await new Promise((resolve) => setTimeout(resolve, 50))
    // One batch; its verdicts come back slice by slice, and a change is told per task, a few per frame at most.
    expect(store.verification().batches).toBe(1)
    expect(lists.at(-1)).toBe(20)
    expect(lists.length).toBeLessThanOrEqual(5)
    expect(new Set(deltas.flatMap((delta) => delta.updated.map((item) => item.id))).size).toBe(20)
    expect(store.items().map((item) => item.text)).toEqual(entries.map((entry) => entry.text).reverse())

    const [first] = store.items()
    memoryOf(doc).delete(first?.id ?? '')
    await store.settled()
    await new Promise((resolve) => setTimeout(resolve, 0))
    // An unsigned deletion of a verified entry is undone (put back later); what nobody verifiable wrote goes at once.
    memoryOf(doc).set(`${alice.nodeId}/junkjunkjunk`, { text: 'junk' })
    await store.settled()
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(store.items().at(-1)).toMatchObject({ text: 'junk', trust: 'malformed' })
    expect(store.items()).toHaveLength(21)
    memoryOf(doc).delete(`${alice.nodeId}/junkjunkjunk`)
    await store.settled()
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(deltas.at(-1)).toEqual({ updated: [], removed: [`${alice.nodeId}/junkjunkjunk`] })
    store.stop()
  })

  it('keeps its list in order through edits, deletions and entries of the same time', async () => {
    const doc = new Y.Doc()
    let now = 1_000
    const store = new MemoryStore(doc, alice, room, { clock: () => now })
    const ids: string[] = []
    for (let i = 0; i < 12; i++) ids.push(await store.add({ text: `entry ${i}` }))
    now = 5_000
    for (const id of ids.slice(0, 4)) await store.update(id, { text: `edited ${id}` })
    for (const id of ids.slice(4, 7)) await store.remove(id)
    await store.settled()
    const expected = [...store.items()].sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    expect(store.items()).toEqual(expected)
    expect(store.items()).toHaveLength(9)
  })
})

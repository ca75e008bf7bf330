import { describe, expect, it } from 'vitest'
import { signEntry, signTombstone, verifyVersion, type MemoryEntry } from '../../src/memory/entry'
import { generateKeyPair, nodeIdOf, signerFromKeyPair, signingPayload, verifySignature } from '../../src/shared/sign'

const signer = await signerFromKeyPair(await generateKeyPair(false))
const other = await signerFromKeyPair(await generateKeyPair(false))
const draft = { text: 'the relay listens on 8787', tags: ['ops'] }

describe('signing', () => {
  it('derives a stable 20-hex node id from the public key', async () => {
    expect(signer.nodeId).toMatch(/^[0-9a-f]{20}$/)
    expect(await nodeIdOf(signer.publicKey)).toBe(signer.nodeId)
    expect(other.nodeId).not.toBe(signer.nodeId)
  })

  it('verifies its own signature and rejects another payload or key', async () => {
    const payload = signingPayload('t', [1, 'a'])
    const sig = await signer.sign(payload)
    expect(await verifySignature(signer.publicKey, sig, payload)).toBe(true)
    expect(await verifySignature(signer.publicKey, sig, signingPayload('t', [1, 'b']))).toBe(false)
    expect(await verifySignature(other.publicKey, sig, payload)).toBe(false)
    expect(await verifySignature('not a key', sig, payload)).toBe(false)
    expect(await verifySignature(signer.publicKey, '!!', payload)).toBe(false)
  })
})

describe('memory entries', () => {
  const room = 'a'.repeat(32)
  const id = `${signer.nodeId}/id1aaaaa`
  const now = 10_000

  it('a signed entry and a signed tombstone verify', async () => {
    const entry = await signEntry(id, room, draft, signer, 1000)
    expect(await verifyVersion(id, entry, room, now)).toEqual({ ok: true, version: entry })
    const tombstone = await signTombstone(id, room, signer, 2000)
    expect(await verifyVersion(id, tombstone, room, now)).toEqual({ ok: true, version: tombstone })
  })

  it('a new version keeps the creation time it is given, never later than its own time', async () => {
    expect(await signEntry(id, room, draft, signer, 2000, 1000)).toMatchObject({ createdAt: 1000, updatedAt: 2000, author: signer.nodeId })
    expect(await signEntry(id, room, draft, signer, 2000, 9000)).toMatchObject({ createdAt: 2000, updatedAt: 2000 })
  })

  const tamperings: [string, (entry: MemoryEntry) => unknown, string][] = [
    ['text changed', (entry) => ({ ...entry, text: 'the relay listens on 80' }), 'bad-signature'],
    ['tags changed', (entry) => ({ ...entry, tags: ['evil'] }), 'bad-signature'],
    ['time changed', (entry) => ({ ...entry, updatedAt: entry.updatedAt + 1 }), 'bad-signature'],
    ['creation time changed', (entry) => ({ ...entry, createdAt: 0 }), 'bad-signature'],
    ['room relabelled', (entry) => ({ ...entry, room: 'b'.repeat(32) }), 'other-room'],
    ['author claimed by another node', (entry) => ({ ...entry, author: other.nodeId }), 'wrong-author'],
    ['key swapped for the author', (entry) => ({ ...entry, publicKey: other.publicKey }), 'bad-signature'],
  ]
  for (const [what, tamper, refusal] of tamperings) {
    it(`a tampered entry (${what}) is refused: ${refusal}`, async () => {
      const entry = await signEntry(id, room, draft, signer, 1000)
      expect(await verifyVersion(id, tamper(entry), room, now)).toMatchObject({ ok: false, refusal })
    })
  }

  it("an entry moved to another id, or under another node's key, is refused", async () => {
    const entry = await signEntry(id, room, draft, signer, 1000)
    expect(await verifyVersion(`${signer.nodeId}/id2aaaaa`, entry, room, now)).toMatchObject({ ok: false, refusal: 'bad-signature' })
    expect(await verifyVersion(`${other.nodeId}/id1aaaaa`, entry, room, now)).toMatchObject({ ok: false, refusal: 'wrong-author' })
    expect(await verifyVersion('id1aaaaa', entry, room, now)).toMatchObject({ ok: false, refusal: 'wrong-author' })
  })

  it('malformed and oversized values are refused, never thrown', async () => {
    const entry = await signEntry(id, room, draft, signer, 1000)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    for (const value of [null, 42, 'text', [], { text: 'no fields' }, { ...entry, v: 1 }, { ...entry, tags: 'x' }, { ...entry, text: 'x'.repeat(20_000) }, { ...entry, createdAt: 2000 }, cyclic]) {
      expect(await verifyVersion(id, value, room, now)).toMatchObject({ ok: false, refusal: 'malformed' })
    }
  })
})

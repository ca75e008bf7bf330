import { describe, expect, it } from 'vitest'
import { verifyEntry, signEntry, type MemoryEntry } from '../../src/memory/entry'
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
  it('a signed entry is trusted', async () => {
    const entry = await signEntry('id1', draft, signer, 1000)
    expect(await verifyEntry('id1', entry)).toEqual({ trust: 'trusted', entry })
  })

  it('keeps createdAt across an edit by another node, which then signs it', async () => {
    const first = await signEntry('id1', draft, signer, 1000)
    const edited = await signEntry('id1', { text: 'edited', tags: [] }, other, 2000, first)
    expect(edited).toMatchObject({ createdAt: 1000, updatedAt: 2000, author: other.nodeId })
    expect((await verifyEntry('id1', edited)).trust).toBe('trusted')
  })

  const tamperings: [string, (entry: MemoryEntry) => unknown][] = [
    ['text changed', (entry) => ({ ...entry, text: 'the relay listens on 80' })],
    ['tags changed', (entry) => ({ ...entry, tags: ['evil'] })],
    ['time changed', (entry) => ({ ...entry, updatedAt: entry.updatedAt + 1 })],
    ['author claimed by another node', (entry) => ({ ...entry, author: other.nodeId })],
    ['key swapped for the claimed author', (entry) => ({ ...entry, author: other.nodeId, publicKey: other.publicKey })],
  ]
  for (const [what, tamper] of tamperings) {
    it(`a tampered entry (${what}) is not trusted`, async () => {
      const entry = await signEntry('id1', draft, signer, 1000)
      expect((await verifyEntry('id1', tamper(entry))).trust).toBe('bad-signature')
    })
  }

  it('an entry moved to another id is not trusted', async () => {
    const entry = await signEntry('id1', draft, signer, 1000)
    expect((await verifyEntry('id2', entry)).trust).toBe('bad-signature')
  })

  it('malformed and oversized values are flagged, never thrown', async () => {
    const entry = await signEntry('id1', draft, signer, 1000)
    for (const value of [null, 42, 'text', [], { text: 'no fields' }, { ...entry, v: 2 }, { ...entry, tags: 'x' }, { ...entry, text: 'x'.repeat(20_000) }]) {
      expect((await verifyEntry('id1', value)).trust).toBe('malformed')
    }
  })
})

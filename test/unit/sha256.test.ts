import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Sha256, sha256Hex, type Sha256State } from '../../src/shared/sha256'

const text = (value: string): Uint8Array => new TextEncoder().encode(value)
const reference = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

/** A seeded byte stream (mulberry32), so a failure replays. */
function randomBytes(length: number, seed: number): Uint8Array {
  let state = seed
  const bytes = new Uint8Array(length)
  for (let index = 0; index < length; index++) {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = Math.imul(state ^ (state >>> 15), state | 1)
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61)
    bytes[index] = (mixed ^ (mixed >>> 14)) & 0xff
  }
  return bytes
}

describe('SHA-256', () => {
  it('gives the FIPS 180-4 / NIST example digests', () => {
    expect(sha256Hex(text(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256Hex(text('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(sha256Hex(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1')
    expect(sha256Hex(text('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'))).toBe(
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    )
    expect(sha256Hex(new Uint8Array(1_000_000).fill(0x61))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0')
  })

  it('gives the same digest however the input is cut, across every block boundary', () => {
    for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096 + 17]) {
      const data = randomBytes(length, length + 1)
      const whole = reference(data)
      expect(sha256Hex(data), `length ${length}`).toBe(whole)
      for (const piece of [1, 3, 63, 64, 65, 200]) {
        const hasher = new Sha256()
        for (let offset = 0; offset < length; offset += piece) hasher.update(data.subarray(offset, offset + piece))
        expect(hasher.hex(), `length ${length} in pieces of ${piece}`).toBe(whole)
      }
    }
  })

  it('hashes a view into a larger buffer by its own bytes only', () => {
    const buffer = randomBytes(300, 7)
    const view = buffer.subarray(13, 13 + 150)
    expect(new Sha256().update(view).hex()).toBe(reference(view))
  })

  it('continues from a saved state (through JSON, as a download keeps it) to the same digest, a partial block included', () => {
    const data = randomBytes(10_000, 42)
    for (const cut of [0, 1, 64, 100, 4096, 9_999]) {
      const first = new Sha256().update(data.subarray(0, cut))
      const saved = JSON.parse(JSON.stringify(first.save())) as Sha256State
      expect(saved.bytes).toBe(cut)
      const resumed = Sha256.restore(saved).update(data.subarray(cut))
      expect(resumed.hex(), `cut at ${cut}`).toBe(reference(data))
    }
  })

  it('reading the digest leaves the hasher able to go on', () => {
    const hasher = new Sha256().update(text('ab'))
    expect(hasher.hex()).toBe(reference(text('ab')))
    hasher.update(text('c'))
    expect(hasher.hex()).toBe(reference(text('abc')))
  })

  it('refuses a state that is not one', () => {
    const good = new Sha256().update(text('abc')).save()
    expect(() => Sha256.restore({ ...good, hash: good.hash.slice(1) })).toThrow(TypeError)
    expect(() => Sha256.restore({ ...good, pending: 'zz' })).toThrow(TypeError)
    expect(() => Sha256.restore({ ...good, bytes: 4 })).toThrow(TypeError)
    expect(() => Sha256.restore({ ...good, hash: good.hash.map(() => -1) })).toThrow(TypeError)
  })
})

// The synchronous Ed25519 check (libsodium in WebAssembly) the memory's verifier runs, and how the
// verifier runs it: in slices with the event loop in between, keys learnt once, WebCrypto where
// the WebAssembly module cannot load.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { newEntryId, signEntry } from '../../src/memory/entry'
import { VersionVerifier } from '../../src/memory/verifier'
import { fromBase64Url, toBase64Url } from '../../src/shared/encoding'
import { roomIdOf } from '../../src/shared/room-id'
import { generateKeyPair, signerFromKeyPair, signingPayload, verifySigned } from '../../src/shared/sign'
import { syncVerifier, type SyncVerifier } from '../../src/shared/sync-verify'

const alice = await signerFromKeyPair(await generateKeyPair(false))
const mallory = await signerFromKeyPair(await generateKeyPair(false))
const room = await roomIdOf('lab', 'secret')
const sync = await syncVerifier()

const flipped = (base64: string, at: number): string => {
  const bytes = fromBase64Url(base64)
  bytes[at] = (bytes[at] ?? 0) ^ 1
  return toBase64Url(bytes)
}

describe('the synchronous check', () => {
  it('agrees with WebCrypto on good signatures, and on tampered payloads, signatures, keys and signers', async () => {
    const payload = signingPayload('memory', ['a room', 'an id', 'some text'])
    const sig = await alice.sign(payload)
    await sync.learnKey(alice.publicKey)
    await sync.learnKey(mallory.publicKey)
    const cases: [string, string, string, Uint8Array<ArrayBuffer>][] = [
      [alice.nodeId, alice.publicKey, sig, payload],
      [alice.nodeId, alice.publicKey, sig, signingPayload('memory', ['a room', 'an id', 'other text'])],
      [alice.nodeId, alice.publicKey, flipped(sig, 3), payload],
      [alice.nodeId, alice.publicKey, flipped(sig, 40), payload],
      [mallory.nodeId, mallory.publicKey, sig, payload],
      // Alice's key under Mallory's id, and the other way round: the key must be the signer's.
      [mallory.nodeId, alice.publicKey, sig, payload],
      [alice.nodeId, mallory.publicKey, sig, payload],
      [alice.nodeId, alice.publicKey, sig.slice(0, -4), payload],
      [alice.nodeId, alice.publicKey, 'not base64url!', payload],
    ]
    const here = cases.map(([signer, key, signature, bytes]) => sync.verifySigned(signer, key, signature, bytes))
    const webCrypto = await Promise.all(cases.map(([signer, key, signature, bytes]) => verifySigned(signer, key, signature, bytes)))
    expect(here).toEqual(webCrypto)
    expect(here).toEqual([true, false, false, false, false, false, false, false, false])
  })

  it('knows a key only once learnt; what is not a key is learnt as refused', async () => {
    const other = await signerFromKeyPair(await generateKeyPair(false))
    const payload = signingPayload('memory', ['x'])
    const sig = await other.sign(payload)
    expect(sync.verifySigned(other.nodeId, other.publicKey, sig, payload)).toBeNull()
    await sync.learnKey(other.publicKey)
    expect(sync.verifySigned(other.nodeId, other.publicKey, sig, payload)).toBe(true)
    for (const junk of ['', 'AAAA', 'not base64url!', toBase64Url(new Uint8Array(33))]) {
      await sync.learnKey(junk)
      expect(sync.verifySigned(other.nodeId, junk, sig, payload)).toBe(false)
    }
  })
})

describe('the verifier on the synchronous check', () => {
  afterEach(() => vi.restoreAllMocks())

  /** Signed entries with their ids. */
  const entries = (count: number, signer = alice) =>
    Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const id = newEntryId(signer.nodeId)
        return { id, value: await signEntry(id, room, { text: `entry ${i}`, tags: [] }, signer, 1_000) }
      }),
    )

  it('yields to the event loop between slices of a long batch, and tells every verdict in order', async () => {
    const signed = await entries(30)
    const verifier = new VersionVerifier(room, { sliceMs: 0 })
    const order: string[] = []
    let timerRan = false
    setTimeout(() => (timerRan = true), 0)
    let timerBeforeLast = false
    const verdicts = signed.map((entry, i) =>
      verifier.verify(entry.id, entry.value).then((verdict) => {
        order.push(entry.id)
        if (i === signed.length - 1) timerBeforeLast = timerRan
        return verdict
      }),
    )
    expect((await Promise.all(verdicts)).every((verdict) => verdict.ok)).toBe(true)
    expect(order).toEqual(signed.map((entry) => entry.id))
    expect(timerBeforeLast).toBe(true)
    expect(verifier.stats).toMatchObject({ batches: 1, checked: 30 })
    expect(verifier.stats.yields).toBeGreaterThan(0)
  })

  it('checks a batch in one go when it fits a slice', async () => {
    const signed = await entries(10)
    const verifier = new VersionVerifier(room, { sliceMs: 10_000 })
    const verdicts = await Promise.all(signed.map((entry) => verifier.verify(entry.id, entry.value)))
    expect(verdicts.every((verdict) => verdict.ok)).toBe(true)
    expect(verifier.stats.yields).toBe(0)
  })

  it('learns an unseen key in the middle of a batch and goes on in order, forgeries refused', async () => {
    const stranger = await signerFromKeyPair(await generateKeyPair(false))
    const [first, second] = await entries(2)
    const [theirs] = await entries(1, stranger)
    if (!first || !second || !theirs) throw new Error('no entries')
    const forgedId = newEntryId(stranger.nodeId)
    const forged = { id: forgedId, value: { ...(await signEntry(forgedId, room, { text: 'forged', tags: [] }, mallory, 1_000)), author: stranger.nodeId, publicKey: stranger.publicKey } }
    const verifier = new VersionVerifier(room)
    const order: string[] = []
    const verdicts = [first, theirs, forged, second].map(({ id, value }) => verifier.verify(id, value).then((verdict) => (order.push(id), verdict)))
    expect((await Promise.all(verdicts)).map((verdict) => verdict.ok)).toEqual([true, true, false, true])
    expect(order).toEqual([first.id, theirs.id, forged.id, second.id])
  })

  it('checks with WebCrypto where the WebAssembly module does not load, and warns once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const [good] = await entries(1)
    if (!good) throw new Error('no entry')
    const verifier = new VersionVerifier(room, { loadSync: () => Promise.reject(new Error('no WebAssembly here')) })
    const forged = { ...good.value, text: 'forged' }
    const verdicts = await Promise.all([verifier.verify(good.id, good.value), verifier.verify(good.id, forged)])
    expect(verdicts.map((verdict) => verdict.ok)).toEqual([true, false])
    expect(await verifier.verify(good.id, { ...good.value, tags: ['forged'] })).toMatchObject({ ok: false, refusal: 'bad-signature' })
    expect(warn).toHaveBeenCalledTimes(1)
  })

  it('loads the check as it is made, before the first version arrives (unless told not to), and once', async () => {
    let loads = 0
    const load = (): Promise<SyncVerifier> => (loads++, Promise.resolve(sync))
    const warm = new VersionVerifier(room, { loadSync: load })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(loads).toBe(1)
    const [good] = await entries(1)
    if (!good) throw new Error('no entry')
    expect(await warm.verify(good.id, good.value)).toMatchObject({ ok: true })
    expect(loads).toBe(1)
    loads = 0
    const cold = new VersionVerifier(room, { loadSync: load, warm: false })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(loads).toBe(0)
    expect(await cold.verify(good.id, good.value)).toMatchObject({ ok: true })
    expect(loads).toBe(1)
  })

  it('runs the loaded check, not another', async () => {
    let calls = 0
    const counting: SyncVerifier = {
      verifySigned: (...args) => (calls++, sync.verifySigned(...args)),
      learnKey: (key) => sync.learnKey(key),
    }
    const [good] = await entries(1)
    if (!good) throw new Error('no entry')
    const verifier = new VersionVerifier(room, { loadSync: () => Promise.resolve(counting) })
    expect(await verifier.verify(good.id, good.value)).toMatchObject({ ok: true })
    expect(calls).toBeGreaterThan(0)
  })
})

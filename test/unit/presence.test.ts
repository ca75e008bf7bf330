// Presence bound to its key: a hostile member writes awareness states straight into a node's
// awareness, as y-webrtc would apply them from a WebRTC link (origin = the link's WebrtcConn).
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { IdentityError } from '../../src/shared/errors'
import { PROTOCOL_VERSION, type EnginePresence, type Presence } from '../../src/shared/protocol'
import { roomIdOf } from '../../src/shared/room-id'
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../src/shared/sign'
import type { Refusal } from '../../src/market/presence/peers'
import { PresenceTracker, type PresenceOptions } from '../../src/market/presence/tracker'
import { maxClockSkewMs } from '../../src/market/presence/check'
import { maxStatesPerLink } from '../../src/market/presence/links'
import { signPresence, verifyPresence } from '../../src/market/presence/sign'
import { livePeersOf } from '../../src/market/presence/live-peers'

const roomId = await roomIdOf('presence', 'secret')
const otherRoomId = await roomIdOf('presence', 'another key')
const newSigner = async (): Promise<Signer> => signerFromKeyPair(await generateKeyPair(false))
const [victimKey, honestKey, hostileKey] = await Promise.all([newSigner(), newSigner(), newSigner()])

const readyEngine: EnginePresence = { kind: 'webgpu', modelId: 'm', state: 'ready', prefillTokensPerS: 500, decodeTokensPerS: 50 }
const fieldsOf = (signer: Signer, extra: Partial<Presence> = {}): Presence => ({
  proto: PROTOCOL_VERSION,
  nodeId: signer.nodeId,
  publicKey: signer.publicKey,
  caps: { webgpu: true, shaderF16: false, cores: 8 },
  status: 'online',
  visible: true,
  heartbeat: 0,
  linkId: `link-${signer.nodeId}`,
  links: [],
  joinedAt: 0,
  serve: 'always',
  engine: readyEngine,
  queue: 0,
  ...extra,
})

/** A WebRTC link as y-webrtc's awareness origin: its WebrtcConn, read for `remotePeerId`. */
const link = (remotePeerId: string): { remotePeerId: string } => ({ remotePeerId })
/** Same-profile tabs over BroadcastChannel: y-webrtc gives its Room as origin. */
const tabsOrigin = { name: 'presence', bcconnected: true }

interface Entry {
  clientId: number
  clock: number
  state: unknown
}

/** What a hostile peer sends: an awareness update with any client ids, clocks and states. */
function deliver(to: Awareness, origin: unknown, entries: readonly Entry[]): void {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, entries.length)
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, JSON.stringify(state))
  }
  applyAwarenessUpdate(to, encoding.toUint8Array(encoder), origin)
}

let now = 1_700_000_000_000
const clock = (): number => now
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

function awarenessOf(): Awareness {
  const doc = new Y.Doc()
  const awareness = new Awareness(doc)
  cleanups.push(() => {
    awareness.destroy()
    doc.destroy()
  })
  return awareness
}

function tracker(signer: Signer, options: Partial<PresenceOptions> = {}, awareness = awarenessOf()): { awareness: Awareness; presence: PresenceTracker; drops: Refusal[] } {
  const presence = new PresenceTracker(awareness, fieldsOf(signer), { heartbeatMs: 60_000, peerTimeoutMs: 15_000, signer, roomId, clock, ...options })
  const drops: Refusal[] = []
  presence.on('dropped', ({ reason }) => drops.push(reason))
  cleanups.push(() => presence.stop())
  return { awareness, presence, drops }
}

/** The honest peer's current signed state, as y-webrtc sends it, over `origin`. */
function relay(from: Awareness, to: Awareness, origin: unknown): void {
  applyAwarenessUpdate(to, encodeAwarenessUpdate(from, [from.clientID]), origin)
}

async function signedLocal(awareness: Awareness): Promise<void> {
  await vi.waitFor(() => expect(awareness.getLocalState()).toHaveProperty('sig'))
}

let nextClientId = 10_000
const freshClientId = (): number => nextClientId++

async function signedEntry(signer: Signer, at = now, options: { clientId?: number; room?: string; fields?: Partial<Presence> } = {}): Promise<Entry> {
  const clientId = options.clientId ?? freshClientId()
  return { clientId, clock: 1, state: await signPresence(signer, options.room ?? roomId, clientId, fieldsOf(signer, options.fields), at) }
}

const compatibleIds = (presence: PresenceTracker): string[] => presence.peers().flatMap((peer) => (peer.compatible ? [peer.nodeId] : []))

describe('own presence', () => {
  it('is published signed for this room and client, and verifies', async () => {
    const { awareness } = tracker(victimKey)
    await signedLocal(awareness)
    const state = awareness.getLocalState() as Parameters<typeof verifyPresence>[2]
    expect(state).toMatchObject({ proto: PROTOCOL_VERSION, nodeId: victimKey.nodeId, publicKey: victimKey.publicKey, at: now })
    expect(await verifyPresence(roomId, awareness.clientID, state)).toBe(true)
    expect(await verifyPresence(otherRoomId, awareness.clientID, state)).toBe(false)
    expect(await verifyPresence(roomId, awareness.clientID + 1, state)).toBe(false)
    expect(await verifyPresence(roomId, awareness.clientID, { ...state, queue: 5 })).toBe(false)
  })

  it('re-signs on every change, with a time that only grows', async () => {
    const { awareness, presence } = tracker(victimKey)
    await signedLocal(awareness)
    const first = awareness.getLocalState() as { at: number; sig: string }
    presence.update({ visible: false })
    presence.update({ queue: 2 })
    await vi.waitFor(() => expect(awareness.getLocalState()).toMatchObject({ visible: false, queue: 2 }))
    const last = awareness.getLocalState() as { at: number; sig: string }
    expect(last.at).toBeGreaterThan(first.at)
    expect(await verifyPresence(roomId, awareness.clientID, last as Parameters<typeof verifyPresence>[2])).toBe(true)
  })

  it('refuses a signer that is not the node the presence names', () => {
    expect(() => new PresenceTracker(awarenessOf(), fieldsOf(honestKey), { heartbeatMs: 60_000, peerTimeoutMs: 15_000, signer: victimKey, roomId })).toThrow(IdentityError)
  })
})

describe('peers bound to their keys', () => {
  it('an honest peer counts once verified, and its heartbeats neither make it leave nor verify twice', async () => {
    const victim = tracker(victimKey)
    const honest = tracker(honestKey)
    await signedLocal(honest.awareness)
    const events: string[] = []
    victim.presence.on('join', (peer) => events.push(`join ${peer.nodeId}`))
    victim.presence.on('leave', (peer) => events.push(`leave ${peer.nodeId}`))
    relay(honest.awareness, victim.awareness, link('honest'))
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toEqual([honestKey.nodeId]))
    for (let beat = 1; beat <= 5; beat++) {
      now += 1000
      honest.presence.update({ heartbeat: beat })
      await vi.waitFor(() => expect(honest.awareness.getLocalState()).toMatchObject({ heartbeat: beat }))
      relay(honest.awareness, victim.awareness, link('honest'))
      await vi.waitFor(() => expect(victim.presence.peers()[0]?.presence?.heartbeat).toBe(beat))
    }
    // The peer list was rebuilt on every update; each state was verified once.
    expect(victim.presence.verificationCount).toBe(6)
    expect(events).toEqual([`join ${honestKey.nodeId}`])
    expect(victim.drops).toEqual([])
    expect(livePeersOf(victim.presence.peers()).map((peer) => peer.nodeId)).toEqual([honestKey.nodeId])
  })

  it('refuses a state that claims another node: its key hashes elsewhere, or the key is not its signer', async () => {
    const victim = tracker(victimKey)
    // The hostile node signs with its own key but names the honest node (id, or id and key).
    const clientA = freshClientId()
    const asHonestId = { ...fieldsOf(hostileKey), nodeId: honestKey.nodeId }
    const spoofA = { clientId: clientA, clock: 1, state: await signPresence(hostileKey, roomId, clientA, asHonestId, now) }
    const clientB = freshClientId()
    const asHonestKey = { ...fieldsOf(hostileKey), nodeId: honestKey.nodeId, publicKey: honestKey.publicKey }
    const spoofB = { clientId: clientB, clock: 1, state: await signPresence(hostileKey, roomId, clientB, asHonestKey, now) }
    deliver(victim.awareness, link('hostile'), [spoofA, spoofB])
    await vi.waitFor(() => expect(victim.drops).toEqual(['signature', 'signature']))
    expect(compatibleIds(victim.presence)).toEqual([])
    expect(victim.presence.peers()).toEqual([expect.objectContaining({ nodeId: honestKey.nodeId, compatible: false, refused: 'signature', presence: null })])
    expect(livePeersOf(victim.presence.peers())).toEqual([])

    // The real node arrives: the spoofs neither hide it nor count as its tabs.
    deliver(victim.awareness, link('honest'), [await signedEntry(honestKey)])
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toEqual([honestKey.nodeId]))
    expect(victim.presence.peers()[0]).toMatchObject({ tabs: 1, refused: null })
  })

  it('refuses unsigned and badly signed states, and a state moved to another client id', async () => {
    const victim = tracker(victimKey)
    const { sig: _sig, at: _at, ...unsigned } = (await signedEntry(honestKey)).state as Record<string, unknown>
    const good = await signedEntry(honestKey)
    const goodState = good.state as Record<string, unknown>
    // A real signature by the right key, of another state.
    const otherSig = ((await signedEntry(honestKey, now - 1)).state as { sig: string }).sig
    const forged = { ...goodState, queue: 9 }
    deliver(victim.awareness, link('hostile'), [
      { clientId: freshClientId(), clock: 1, state: unsigned },
      { clientId: good.clientId, clock: 1, state: { ...goodState, sig: otherSig } },
      { clientId: freshClientId(), clock: 1, state: forged },
      // The honest node's own valid state, under another client than it was signed for.
      { clientId: good.clientId + 1, clock: 1, state: good.state },
    ])
    await vi.waitFor(() => expect(victim.drops.sort()).toEqual(['malformed', 'signature', 'signature', 'signature']))
    expect(compatibleIds(victim.presence)).toEqual([])
    expect(victim.presence.droppedCount).toBe(4)
  })

  it('refuses a state signed for another room', async () => {
    const victim = tracker(victimKey)
    deliver(victim.awareness, link('hostile'), [await signedEntry(honestKey, now, { room: otherRoomId })])
    await vi.waitFor(() => expect(victim.drops).toEqual(['signature']))
    expect(compatibleIds(victim.presence)).toEqual([])
  })

  it('refuses clocks too far ahead or behind, and states older than one verified', async () => {
    const victim = tracker(victimKey)
    deliver(victim.awareness, link('hostile'), [await signedEntry(honestKey, now + maxClockSkewMs + 1000), await signedEntry(honestKey, now - maxClockSkewMs - 1000)])
    await vi.waitFor(() => expect(victim.drops).toEqual(['clock', 'clock']))

    const clientId = freshClientId()
    const old = await signedEntry(honestKey, now - 5000, { clientId, fields: { queue: 7 } })
    const current = await signedEntry(honestKey, now, { clientId, fields: { queue: 0 } })
    deliver(victim.awareness, link('honest'), [current])
    await vi.waitFor(() => expect(victim.presence.peers()[0]).toMatchObject({ compatible: true, presence: { queue: 0 } }))
    // The old state comes back with a higher awareness clock, as a replaying peer would send it.
    deliver(victim.awareness, link('hostile'), [{ ...old, clock: 5 }])
    await vi.waitFor(() => expect(victim.drops).toEqual(['clock', 'clock', 'replay']))
    // Two states of one instant: a second one for `at` is refused too.
    deliver(victim.awareness, link('hostile'), [{ ...(await signedEntry(honestKey, now, { clientId, fields: { queue: 3 } })), clock: 6 }])
    await vi.waitFor(() => expect(victim.drops).toEqual(['clock', 'clock', 'replay', 'replay']))
    expect(compatibleIds(victim.presence)).toEqual([])
  })

  it('a replay of the last state is no sign of life: the peer still times out', async () => {
    const victim = tracker(victimKey, { peerTimeoutMs: 4000 })
    const entry = await signedEntry(honestKey)
    deliver(victim.awareness, link('honest'), [entry])
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toEqual([honestKey.nodeId]))
    now += 3000
    deliver(victim.awareness, link('hostile'), [{ ...entry, clock: 2 }])
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(compatibleIds(victim.presence)).toEqual([honestKey.nodeId])
    now += 2000
    deliver(victim.awareness, link('hostile'), [{ ...entry, clock: 3 }])
    await vi.waitFor(() => expect(victim.presence.peers()).toEqual([]))
    expect(victim.drops).toEqual([])
  })

  it('tabs of one profile are one node; each tab moves forward on its own clock', async () => {
    const victim = tracker(victimKey)
    const [tabA, tabB] = [freshClientId(), freshClientId()]
    deliver(victim.awareness, link('honest'), [await signedEntry(honestKey, now, { clientId: tabA }), await signedEntry(honestKey, now - 1000, { clientId: tabB })])
    await vi.waitFor(() => expect(victim.presence.peers()).toEqual([expect.objectContaining({ nodeId: honestKey.nodeId, compatible: true, tabs: 2 })]))
    expect(victim.drops).toEqual([])
  })
})

describe('states per link', () => {
  it('more states than the cap over one link are refused, while states over other links still count', async () => {
    const victim = tracker(victimKey, { statesPerLink: 3 })
    const keys = await Promise.all(Array.from({ length: 5 }, newSigner))
    deliver(victim.awareness, link('hostile'), await Promise.all(keys.map((key) => signedEntry(key))))
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toHaveLength(3))
    expect(victim.drops).toEqual(['cap', 'cap'])
    deliver(victim.awareness, link('honest'), [await signedEntry(honestKey)])
    deliver(victim.awareness, tabsOrigin, [await signedEntry(await newSigner())])
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toHaveLength(5))
    expect(compatibleIds(victim.presence)).toContain(honestKey.nodeId)
  })

  it('a state that leaves frees its place; an admitted one counts whichever link carries it next', async () => {
    const victim = tracker(victimKey, { statesPerLink: 2 })
    const keys = await Promise.all([newSigner(), newSigner(), newSigner()])
    const keyOf = new Map(keys.map((key) => [key.nodeId, key]))
    const [first, second, third] = await Promise.all(keys.map((key) => signedEntry(key)))
    if (!first || !second || !third) throw new Error('three entries')
    deliver(victim.awareness, link('a'), [first, second, third])
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toHaveLength(2))
    deliver(victim.awareness, link('a'), [{ clientId: first.clientId, clock: 2, state: null }])
    // The third one again, with a newer clock: link a has room now.
    deliver(victim.awareness, link('a'), [{ ...third, clock: 2 }])
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toHaveLength(2))
    expect(compatibleIds(victim.presence)).toContain((third.state as Presence).nodeId)
    // The second one's next heartbeat comes over another link, one that is full: it was
    // admitted, it still counts.
    deliver(victim.awareness, link('b'), await Promise.all([newSigner(), newSigner()].map(async (key) => signedEntry(await key))))
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toHaveLength(4))
    now += 1000
    const secondKey = (second.state as Presence).nodeId
    const next = await signedEntry(keyOf.get(secondKey) ?? honestKey, now, { clientId: second.clientId, fields: { heartbeat: 1 } })
    deliver(victim.awareness, link('b'), [{ ...next, clock: 2 }])
    await vi.waitFor(() => expect(victim.presence.peers().find((peer) => peer.nodeId === secondKey)?.presence?.heartbeat).toBe(1))
    expect(victim.drops).toEqual(['cap'])
  })

  it('same-profile tabs over BroadcastChannel are one link, capped like the others', async () => {
    const victim = tracker(victimKey, { statesPerLink: 2 })
    const keys = await Promise.all(Array.from({ length: 4 }, newSigner))
    for (const key of keys) deliver(victim.awareness, tabsOrigin, [await signedEntry(key)])
    await vi.waitFor(() => expect(victim.drops).toEqual(['cap', 'cap']))
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toHaveLength(2))
  })

  it(`hundreds of fake ready peers, each with its own real key, over one link: at most ${maxStatesPerLink} count`, async () => {
    const victim = tracker(victimKey)
    const keys = await Promise.all(Array.from({ length: 300 }, newSigner))
    const entries = await Promise.all(keys.map((key) => signedEntry(key)))
    // Sent as a flood of small updates, and once more all in one.
    for (const entry of entries) deliver(victim.awareness, link('hostile'), [entry])
    deliver(
      victim.awareness,
      link('hostile'),
      entries.map((entry) => ({ ...entry, clock: 2 })),
    )
    deliver(victim.awareness, link('honest'), [await signedEntry(honestKey)])
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toHaveLength(maxStatesPerLink + 1))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const live = livePeersOf(victim.presence.peers())
    expect(live).toHaveLength(maxStatesPerLink + 1)
    expect(live.map((peer) => peer.nodeId)).toContain(honestKey.nodeId)
    expect(victim.presence.droppedByReason().get('cap')).toBe(2 * (300 - maxStatesPerLink))
    // Over the cap, a state is refused unread: it is not listed at all.
    expect(victim.presence.peers()).toHaveLength(maxStatesPerLink + 1)
  })
})

describe('only verified peers reach the market', () => {
  it('livePeersOf lists the verified ones, never refused or pending ones', async () => {
    const victim = tracker(victimKey)
    const honest = tracker(honestKey)
    await signedLocal(honest.awareness)
    relay(honest.awareness, victim.awareness, link('honest'))
    deliver(victim.awareness, link('hostile'), [
      await signedEntry(hostileKey, now, { room: otherRoomId }),
      await signedEntry(await newSigner(), now + 10 * maxClockSkewMs),
      { clientId: freshClientId(), clock: 1, state: { ...fieldsOf(await newSigner()), at: now, sig: 'A'.repeat(86) } },
      { clientId: freshClientId(), clock: 1, state: { ...fieldsOf(await newSigner()), proto: 1 } },
    ])
    await vi.waitFor(() => expect(victim.drops).toHaveLength(4))
    await vi.waitFor(() => expect(compatibleIds(victim.presence)).toEqual([honestKey.nodeId]))
    expect(victim.presence.peers()).toHaveLength(5)
    expect(livePeersOf(victim.presence.peers())).toEqual([expect.objectContaining({ nodeId: honestKey.nodeId, engine: readyEngine })])
  })
})

import { describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, type SignedPresence } from '../../src/shared/protocol'
import { derivePeers, diffPeers, parseState, type StateCheck } from '../../src/market/presence/peers'

const presence = (nodeId: string, fields: Partial<SignedPresence> = {}): SignedPresence => ({
  proto: PROTOCOL_VERSION,
  nodeId,
  publicKey: 'A'.repeat(43),
  caps: { webgpu: false, shaderF16: false, cores: 4 },
  status: 'online',
  visible: true,
  heartbeat: 1,
  linkId: `link-${nodeId}`,
  links: [],
  joinedAt: 0,
  serve: 'always',
  at: 1,
  sig: 'S'.repeat(86),
  ...fields,
})
const verified = (state: SignedPresence, lastSeenMs: number): { check: StateCheck; lastSeenMs: number } => ({ check: { ok: true, presence: state }, lastSeenMs })
const refused = (nodeId: string, lastSeenMs: number): { check: StateCheck; lastSeenMs: number } => ({ check: { ok: false, reason: 'signature', nodeId, proto: PROTOCOL_VERSION }, lastSeenMs })
const idA = 'a'.repeat(20)
const idB = 'b'.repeat(20)
const idC = 'c'.repeat(20)
const self = 'f'.repeat(20)

describe('reading a peer state', () => {
  it('reads a well-formed signed state, not yet verified', () => {
    expect(parseState(presence(idA))).toEqual({ ok: true, presence: presence(idA) })
  })

  it('tells another protocol version from a malformed state of this one', () => {
    expect(parseState({ ...presence(idA), proto: PROTOCOL_VERSION + 1 })).toEqual({ ok: false, reason: 'version', nodeId: idA, proto: PROTOCOL_VERSION + 1 })
    // Unsigned, as protocol version 1 sent it but saying version 2.
    const { at: _at, sig: _sig, ...unsigned } = presence(idA)
    expect(parseState(unsigned)).toEqual({ ok: false, reason: 'malformed', nodeId: idA, proto: PROTOCOL_VERSION })
    expect(parseState({ ...presence(idA), sig: 'short' })).toMatchObject({ ok: false, reason: 'malformed' })
    expect(parseState({ ...presence(idA), at: -1 })).toMatchObject({ ok: false, reason: 'malformed' })
  })

  it('refuses invalid and oversized states, naming no node when none can be read', () => {
    expect(parseState(null)).toEqual({ ok: false, reason: 'malformed', nodeId: null, proto: null })
    expect(parseState('x')).toMatchObject({ ok: false, nodeId: null })
    expect(parseState({ nodeId: 'short', proto: 2 })).toMatchObject({ ok: false, nodeId: null })
    expect(parseState({ ...presence(idA), caps: 'gpu' })).toMatchObject({ ok: false, reason: 'malformed', nodeId: idA })
    expect(parseState({ ...presence(idB), links: Array.from({ length: 300 }, () => 'x') })).toMatchObject({ ok: false, reason: 'malformed', nodeId: idB })
    expect(parseState({ ...presence(idC), linkId: 'x'.repeat(9000) })).toEqual({ ok: false, reason: 'oversized', nodeId: null, proto: null })
  })
})

describe('peer list', () => {
  it('lists verified live peers sorted by id, without this node', () => {
    const peers = derivePeers([verified(presence(idB), 1000), verified(presence(idA), 1000), verified(presence(self), 1000)], self, 1500, 1000)
    expect(peers.map((peer) => peer.nodeId)).toEqual([idA, idB])
    expect(peers.every((peer) => peer.compatible && peer.refused === null)).toBe(true)
  })

  it('drops a peer silent for longer than the timeout', () => {
    const peers = derivePeers([verified(presence(idA), 0), verified(presence(idB), 900)], self, 1500, 1000)
    expect(peers.map((peer) => peer.nodeId)).toEqual([idB])
  })

  it('shows a refused state as not compatible, with no presence, and why', () => {
    const [peer] = derivePeers([refused(idA, 1000)], self, 1000, 1000)
    expect(peer).toEqual({ nodeId: idA, compatible: false, proto: PROTOCOL_VERSION, presence: null, lastSeenMs: 1000, tabs: 1, refused: 'signature' })
    const [other] = derivePeers([{ check: parseState({ ...presence(idB), proto: 7 }), lastSeenMs: 1000 }], self, 1000, 1000)
    expect(other).toMatchObject({ nodeId: idB, compatible: false, proto: 7, presence: null, refused: 'version' })
  })

  it('never lets a refused state hide a verified one of the same node, whichever is fresher', () => {
    for (const states of [
      [verified(presence(idA), 900), refused(idA, 1000)],
      [refused(idA, 1000), verified(presence(idA), 900)],
    ]) {
      const [peer] = derivePeers(states, self, 1000, 1000)
      expect(peer).toMatchObject({ nodeId: idA, compatible: true, tabs: 1, lastSeenMs: 900 })
    }
  })

  it('does not list refused states that name no node', () => {
    const peers = derivePeers(
      [
        { check: { ok: false, reason: 'cap', nodeId: null, proto: null }, lastSeenMs: 1000 },
        { check: parseState('x'), lastSeenMs: 1000 },
      ],
      self,
      1000,
      1000,
    )
    expect(peers).toEqual([])
  })

  it('merges tabs of one profile into one node, keeping the freshest', () => {
    const [peer] = derivePeers([verified(presence(idA, { visible: false }), 900), verified(presence(idA, { visible: true }), 1000)], self, 1000, 1000)
    expect(peer).toMatchObject({ tabs: 2, presence: { visible: true } })
  })

  it('diffs joins and leaves', () => {
    const before = derivePeers([verified(presence(idA), 1), verified(presence(idB), 1)], self, 1, 10)
    const after = derivePeers([verified(presence(idB), 1), verified(presence(idC), 1)], self, 1, 10)
    const { joined, left } = diffPeers(before, after)
    expect(joined.map((peer) => peer.nodeId)).toEqual([idC])
    expect(left.map((peer) => peer.nodeId)).toEqual([idA])
  })
})

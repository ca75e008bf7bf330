import { describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, type Presence } from '../../src/shared/protocol'
import { derivePeers, diffPeers } from '../../src/swarm/peers'

const presence = (nodeId: string, fields: Partial<Presence> = {}): Presence => ({
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
  ...fields,
})
const idA = 'a'.repeat(20)
const idB = 'b'.repeat(20)
const idC = 'c'.repeat(20)
const self = 'f'.repeat(20)

describe('peer list', () => {
  it('lists valid live peers sorted by id, without this node', () => {
    const peers = derivePeers(
      [
        { state: presence(idB), lastSeenMs: 1000 },
        { state: presence(idA), lastSeenMs: 1000 },
        { state: presence(self), lastSeenMs: 1000 },
      ],
      self,
      1500,
      1000,
    )
    expect(peers.map((peer) => peer.nodeId)).toEqual([idA, idB])
    expect(peers.every((peer) => peer.compatible)).toBe(true)
  })

  it('drops a peer silent for longer than the timeout', () => {
    const peers = derivePeers([{ state: presence(idA), lastSeenMs: 0 }, { state: presence(idB), lastSeenMs: 900 }], self, 1500, 1000)
    expect(peers.map((peer) => peer.nodeId)).toEqual([idB])
  })

  it('shows another protocol version as incompatible', () => {
    const [peer] = derivePeers([{ state: { ...presence(idA), proto: PROTOCOL_VERSION + 1 }, lastSeenMs: 1000 }], self, 1000, 1000)
    expect(peer).toMatchObject({ nodeId: idA, compatible: false, proto: PROTOCOL_VERSION + 1, presence: null })
  })

  it('ignores invalid and oversized states', () => {
    const states = [null, 'x', { nodeId: 'short', proto: 1 }, { ...presence(idA), caps: 'gpu' }, { ...presence(idB), links: Array.from({ length: 300 }, () => 'x') }, { ...presence(idC), linkId: 'x'.repeat(9000) }]
    const peers = derivePeers(states.map((state) => ({ state, lastSeenMs: 1000 })), self, 1000, 1000)
    // A state of the right version that fails the schema is shown as incompatible, never trusted.
    expect(peers.filter((peer) => peer.compatible)).toEqual([])
    expect(peers.map((peer) => peer.nodeId)).toEqual([idA, idB])
  })

  it('merges tabs of one profile into one node, keeping the freshest', () => {
    const [peer] = derivePeers([{ state: presence(idA, { visible: false }), lastSeenMs: 900 }, { state: presence(idA, { visible: true }), lastSeenMs: 1000 }], self, 1000, 1000)
    expect(peer).toMatchObject({ tabs: 2, presence: { visible: true } })
  })

  it('diffs joins and leaves', () => {
    const before = derivePeers([{ state: presence(idA), lastSeenMs: 1 }, { state: presence(idB), lastSeenMs: 1 }], self, 1, 10)
    const after = derivePeers([{ state: presence(idB), lastSeenMs: 1 }, { state: presence(idC), lastSeenMs: 1 }], self, 1, 10)
    const { joined, left } = diffPeers(before, after)
    expect(joined.map((peer) => peer.nodeId)).toEqual([idC])
    expect(left.map((peer) => peer.nodeId)).toEqual([idA])
  })
})

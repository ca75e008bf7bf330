// The market's link delay is measured: half of each link's round-trip time from getStats(),
// 20 ms only until a link has one; the selected candidate pair says direct or through TURN.
import { describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, type SignedPresence } from '../../src/shared/protocol'
import type { Peer } from '../../src/market/presence/peers'
import { assumedLinkDelayMs, livePeersOf } from '../../src/market/presence/live-peers'
import { estimateCompletionMs } from '../../src/market/estimate'
import { chooseWinner } from '../../src/market/award'
import { describeIceError, readSelectedPair } from '../../src/swarm/room/link-stats'

const engine = { kind: 'wasm', modelId: 'm', state: 'ready', prefillTokensPerS: 100, decodeTokensPerS: 10 } as const

function peer(nodeId: string, linkId: string): Peer {
  const presence: SignedPresence = {
    proto: PROTOCOL_VERSION,
    nodeId,
    publicKey: 'A'.repeat(43),
    caps: { webgpu: false, shaderF16: false, cores: 4 },
    status: 'online',
    visible: true,
    heartbeat: 1,
    linkId,
    links: [],
    joinedAt: 0,
    serve: 'always',
    engine,
    at: 1,
    sig: 'S'.repeat(86),
  }
  return { nodeId, compatible: true, proto: PROTOCOL_VERSION, presence, lastSeenMs: 0, tabs: 1, refused: null }
}

const near = 'a'.repeat(20)
const far = 'b'.repeat(20)
const unmeasured = 'c'.repeat(20)
const rtts = new Map<string, number | null>([
  ['link-near', 8],
  ['link-far', 300],
  ['link-unmeasured', null],
])

describe('measured link delay', () => {
  it('is half the round trip of the link named by the presence, the assumed 20 ms until measured', () => {
    const live = livePeersOf([peer(near, 'link-near'), peer(far, 'link-far'), peer(unmeasured, 'link-unmeasured'), peer('d'.repeat(20), '')], (linkId) => rtts.get(linkId))
    expect(live.map((item) => item.linkDelayMs)).toEqual([4, 150, assumedLinkDelayMs, assumedLinkDelayMs])
    expect(livePeersOf([peer(near, 'link-near')]).map((item) => item.linkDelayMs)).toEqual([assumedLinkDelayMs])
  })

  it("is not lent to a hostile peer that claims an honest peer's link id: a link id claimed twice measures neither", () => {
    const live = livePeersOf([peer(near, 'link-near'), peer(far, 'link-near'), peer(unmeasured, 'link-far')], (linkId) => rtts.get(linkId))
    expect(live.map((item) => item.linkDelayMs)).toEqual([assumedLinkDelayMs, assumedLinkDelayMs, 150])
  })

  it('goes into the estimate, so of two equal peers the award goes to the one with the shorter link', () => {
    const request = { messages: [{ role: 'user' as const, content: 'x'.repeat(400) }], max_tokens: 20 }
    const live = livePeersOf([peer(far, 'link-far'), peer(near, 'link-near')], (linkId) => rtts.get(linkId))
    const bids = live.map((item) => ({ bidder: item.nodeId, estimateMs: estimateCompletionMs(item, request, 4) ?? Infinity }))
    expect(bids.find((bid) => bid.bidder === far)?.estimateMs).toBe(1_000 + 2_000 + 300)
    expect(bids.find((bid) => bid.bidder === near)?.estimateMs).toBe(1_000 + 2_000 + 8)
    expect(chooseWinner(bids)?.bidder).toBe(near)
    // Unmeasured, the far peer wins on its node id alone: the guess cannot tell them apart.
    const guessed = livePeersOf([peer(far, 'link-far'), peer('0'.repeat(20), 'link-near')]).map((item) => ({ bidder: item.nodeId, estimateMs: estimateCompletionMs(item, request, 4) ?? Infinity }))
    expect(new Set(guessed.map((bid) => bid.estimateMs)).size).toBe(1)
  })
})

describe('selected candidate pair', () => {
  const candidates = [
    { id: 'L1', type: 'local-candidate', candidateType: 'host' },
    { id: 'L2', type: 'local-candidate', candidateType: 'relay' },
    { id: 'R1', type: 'remote-candidate', candidateType: 'srflx' },
    { id: 'R2', type: 'remote-candidate', candidateType: 'relay' },
  ]

  it("is the transport's selectedCandidatePairId: relayed when either end is a relay candidate, rtt in ms", () => {
    const report = [
      ...candidates,
      { id: 'P1', type: 'candidate-pair', state: 'succeeded', nominated: true, localCandidateId: 'L1', remoteCandidateId: 'R1', currentRoundTripTime: 0.001 },
      { id: 'P2', type: 'candidate-pair', state: 'succeeded', nominated: true, localCandidateId: 'L2', remoteCandidateId: 'R1', currentRoundTripTime: 0.0423 },
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P2' },
    ]
    expect(readSelectedPair(report, 'x')).toEqual({ linkId: 'x', relayed: true, localType: 'relay', remoteType: 'srflx', rttMs: 42.3 })
  })

  it('without a transport entry, the succeeded pair marked selected (or nominated); null while none is', () => {
    const direct = [...candidates, { id: 'P1', type: 'candidate-pair', state: 'succeeded', nominated: true, localCandidateId: 'L1', remoteCandidateId: 'R1' }]
    expect(readSelectedPair(direct, 'x')).toEqual({ linkId: 'x', relayed: false, localType: 'host', remoteType: 'srflx', rttMs: null })
    const remoteRelay = [...candidates, { id: 'P9', type: 'candidate-pair', state: 'succeeded', selected: true, localCandidateId: 'L1', remoteCandidateId: 'R2', currentRoundTripTime: 0.01 }]
    expect(readSelectedPair(remoteRelay, 'x')).toMatchObject({ relayed: true, rttMs: 10 })
    expect(readSelectedPair([...candidates, { id: 'P1', type: 'candidate-pair', state: 'in-progress', nominated: true }], 'x')).toBeNull()
    expect(readSelectedPair([null, 3, 'x', { type: 'transport', selectedCandidatePairId: 'missing' }], 'x')).toBeNull()
  })
})

describe('ICE errors the user is told', () => {
  it('a TURN server refusing credentials names the URL, the code and the secret that does not match; STUN errors are not told', () => {
    expect(describeIceError({ url: 'turn:127.0.0.1:3478?transport=udp', errorCode: 401, errorText: 'Unauthorized' })).toBe(
      "the TURN server turn:127.0.0.1:3478?transport=udp refused this relay's credentials (401 Unauthorized): RELAY_TURN_SECRET does not match coturn's static-auth-secret, or the credentials expired",
    )
    expect(describeIceError({ url: 'turn:10.0.0.1:3478', errorCode: 701, errorText: '' })).toMatch(/did not answer \(701\)/)
    expect(describeIceError({ url: 'stun:stun.l.google.com:19302', errorCode: 701, errorText: 'timeout' })).toBeNull()
    expect(describeIceError({ url: 'turn:a:1', errorCode: 500, errorText: '' })).toBeNull()
  })
})

import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { acceptsWrite, chooseWinner, fmix32, fnv1a, leaseLapsed, RendezvousRanker, rendezvousRank } from '../../src/market/award'
import { estimateCompletionMs, hiddenTabPenalty } from '../../src/market/estimate'
import { splitText } from '../../src/market/jobs'
import { MarketNode } from '../../src/market/node'
import { BidSchema, maxSmallBytes, readValue, SpecSchema } from '../../src/market/schema'
import { sign } from '../../src/market/signing'
import type { LivePeer } from '../../src/market/types'
import { reputationOf, similarity, vote } from '../../src/market/vote'
import { fixedSigner } from './market-sim/keys'
import { SimEngine } from './market-sim/engine'
import { realTimers, testRoomId } from './market-sim/room'

const ids = ['0a'.repeat(10), '0b'.repeat(10), '0c'.repeat(10), '0d'.repeat(10)] as const
const [a, b, c, d] = ids

const until = async (check: () => boolean, timeoutMs = 3_000) => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = (seed * 7919 + i * 104729) % (i + 1)
    ;[copy[i], copy[j]] = [copy[j] as T, copy[i] as T]
  }
  return copy
}

describe('award', () => {
  const bids = [
    { bidder: c, estimateMs: 500 },
    { bidder: b, estimateMs: 300 },
    { bidder: d, estimateMs: 300 },
    { bidder: a, estimateMs: 900 },
  ]

  it('same bids in any order give the same winner: lowest estimate, ties by node id', () => {
    for (let seed = 0; seed < 50; seed++) expect(chooseWinner(shuffled(bids, seed))?.bidder).toBe(b)
  })

  it('skips excluded bidders and returns null when none is left', () => {
    expect(chooseWinner(bids, new Set([b]))?.bidder).toBe(d)
    expect(chooseWinner(bids, new Set(ids))).toBeNull()
    expect(chooseWinner([])).toBeNull()
  })

  it('weighs estimates by reputation', () => {
    const reputation = (nodeId: string) => (nodeId === b || nodeId === d ? 0.5 : 1)
    expect(chooseWinner(bids, new Set(), reputation)?.bidder).toBe(c)
  })

  it('a lease lapses only after leaseMs without a renewal', () => {
    expect(leaseLapsed(1_000, 3_000, 3_999)).toBe(false)
    expect(leaseLapsed(1_000, 3_000, 4_000)).toBe(false)
    expect(leaseLapsed(1_000, 3_000, 4_001)).toBe(true)
  })

  it('fencing: only writes of the current epoch and executor count', () => {
    const award = { epoch: 2, executor: a }
    expect(acceptsWrite(award, { epoch: 2, executor: a })).toBe(true)
    expect(acceptsWrite(award, { epoch: 2 })).toBe(true)
    expect(acceptsWrite(award, { epoch: 1, executor: a })).toBe(false)
    expect(acceptsWrite(award, { epoch: 3, executor: a })).toBe(false)
    expect(acceptsWrite(award, { epoch: 2, executor: b })).toBe(false)
    expect(acceptsWrite(null, { epoch: 1, executor: a })).toBe(false)
  })

  it('rendezvous ranks are a permutation, the same from every node', () => {
    const ranks = ids.map((id) => rendezvousRank('task-0001', id, shuffled(ids, 3)))
    expect([...ranks].sort()).toEqual([0, 1, 2, 3])
    expect(ids.map((id) => rendezvousRank('task-0001', id, ids))).toEqual(ranks)
  })

  it('rendezvous ranks order nodes by fmix32 of the task and node hashes XORed; the cached ranker agrees with a fresh one', () => {
    const byScore = [...ids].sort((x, y) => fmix32(fnv1a('task-0001') ^ fnv1a(x)) - fmix32(fnv1a('task-0001') ^ fnv1a(y)))
    expect(byScore.map((id) => rendezvousRank('task-0001', id, ids))).toEqual([0, 1, 2, 3])
    const ranker = new RendezvousRanker(2)
    for (const task of ['task-0001', 'task-0002', 'task-0003']) expect(ids.map((id) => ranker.rank(task, id, ids))).toEqual(ids.map((id) => rendezvousRank(task, id, ids)))
  })

  it('rendezvous waves: the front of the room ranks exactly (wave 0 holds exactly perWave nodes), the rest estimate within a wave or two', () => {
    const room = Array.from({ length: 1000 }, (_, i) => `node-${(i * 2654435761) >>> 0}`)
    const ranker = new RendezvousRanker()
    for (const task of ['task-a', 'task-b', 'task-c']) {
      const waves = room.map((id) => {
        const others = room.filter((other) => other !== id)
        return ranker.wave(task, id, others.length, () => others, 16)
      })
      const exact = room.map((id) => Math.floor(rendezvousRank(task, id, room) / 16))
      for (const front of [0, 1, 2]) expect(waves.filter((wave) => wave === front).length).toBe(16)
      for (const [i, wave] of waves.entries()) {
        if ((exact[i] as number) < 3) expect(wave).toBe(exact[i])
        else expect(Math.abs(wave - (exact[i] as number))).toBeLessThanOrEqual(2)
      }
    }
  })

  it('rendezvous orders differ between tasks (the XOR does not keep one order for the room)', () => {
    const many = Array.from({ length: 64 }, (_, i) => `node-${i.toString(16).padStart(8, '0')}`)
    const firstOf = (task: string): string | undefined => many.find((id) => rendezvousRank(task, id, many) === 0)
    const firsts = new Set(Array.from({ length: 32 }, (_, t) => firstOf(`task-${t}`)))
    expect(firsts.size).toBeGreaterThan(16)
  })
})

describe('estimateCompletionMs', () => {
  const request = { messages: [{ role: 'user' as const, content: 'x'.repeat(400) }], max_tokens: 50 }
  const engine = { kind: 'webgpu', modelId: 'm', state: 'ready', prefillTokensPerS: 100, decodeTokensPerS: 10 } as const
  const peer: LivePeer = { nodeId: a, engine, queueLength: 0, visible: true, linkDelayMs: 20 }

  it('adds prefill, decode, queue and link delay', () => {
    expect(estimateCompletionMs(peer, request, 2)).toBe(1_000 + 5_000 + 40)
    expect(estimateCompletionMs({ ...peer, queueLength: 1 }, request, 2)).toBe(2 * 6_000 + 40)
    expect(estimateCompletionMs({ ...peer, visible: false }, request, 2)).toBe(6_000 * hiddenTabPenalty + 40)
  })

  it('will not bid with a full queue or no ready engine', () => {
    expect(estimateCompletionMs({ ...peer, queueLength: 2 }, request, 2)).toBeNull()
    expect(estimateCompletionMs({ ...peer, engine: null }, request, 2)).toBeNull()
    expect(estimateCompletionMs({ ...peer, engine: { ...engine, state: 'loading' } }, request, 2)).toBeNull()
  })
})

describe('vote', () => {
  it('similarity is 1 for the same words and falls as they differ', () => {
    expect(similarity('The cat sat', 'the  CAT sat!')).toBeCloseTo(1)
    expect(similarity('a b c d', 'a b c e')).toBeCloseTo(0.75)
    expect(similarity('alpha beta', 'gamma delta')).toBe(0)
  })

  it('picks the answer most like the others and names the outvoted', () => {
    const outcome = vote([
      { executor: c, text: 'Paris is the capital of France' },
      { executor: a, text: 'The capital of France is Paris' },
      { executor: b, text: 'Berlin, obviously' },
    ])
    expect(outcome?.chosen.executor).toBe(a)
    expect(outcome?.winners).toEqual([a, c])
    expect(outcome?.outvoted).toEqual([b])
    expect(vote([])).toBeNull()
  })

  it('reputation falls for the outvoted, the same from any order', () => {
    const votes = [
      { winners: [a, c], outvoted: [b] },
      { winners: [a], outvoted: [b, c] },
    ]
    const reputation = reputationOf(votes)
    expect(reputation.get(a)).toBe(1)
    expect(reputation.get(b)).toBeCloseTo(1 / 5)
    expect(reputation.get(c)).toBeCloseTo(2 / 4)
    expect(reputationOf([...votes].reverse())).toEqual(reputation)
  })
})

describe('schema', () => {
  const bid = { taskId: 'task-0001', bidder: a, estimateMs: 10, at: 1, publicKey: 'k'.repeat(43), sig: 's'.repeat(86) }

  it('accepts a good value and rejects wrong shapes and sizes', () => {
    expect(readValue(BidSchema, bid, maxSmallBytes)).toEqual(bid)
    expect(readValue(BidSchema, { ...bid, estimateMs: -1 }, maxSmallBytes)).toBeNull()
    expect(readValue(BidSchema, { ...bid, bidder: 'ZZ' }, maxSmallBytes)).toBeNull()
    expect(readValue(BidSchema, 'a string', maxSmallBytes)).toBeNull()
    expect(readValue(BidSchema, { ...bid, extra: 'x'.repeat(5_000) }, maxSmallBytes)).toBeNull()
    expect(readValue(SpecSchema, { v: 1, taskId: 'task-0001', request: { messages: [] } }, maxSmallBytes)).toBeNull()
  })

  it('a node drops and counts bad values in the doc and never throws from its observer', async () => {
    const doc = new Y.Doc()
    const errors: unknown[] = []
    const market = new MarketNode({
      doc,
      signer: await fixedSigner(1),
      roomId: testRoomId,
      engine: new SimEngine(realTimers, 100),
      livePeers: () => [],
      timers: realTimers,
      onError: (e) => errors.push(e),
    })
    const tasks = doc.getMap('tasks')
    tasks.set('task-junk-1', 'not a map')
    const task = new Y.Map<unknown>()
    tasks.set('task-junk-2', task)
    task.set('spec', { v: 3, taskId: 'task-junk-2', request: { messages: 'nope' } })
    // A bad award is read only once the task's spec is valid and its signature checked.
    const poster = await fixedSigner(2)
    const spec = await sign(
      'spec',
      { v: 3, taskId: 'task-junk-3', request: { messages: [{ role: 'user', content: 'hi' }] }, requirements: {}, poster: poster.nodeId, publicKey: poster.publicKey, createdAt: 1, expiresAt: 2 },
      { signer: poster, roomId: testRoomId },
    )
    const signed = new Y.Map<unknown>()
    tasks.set('task-junk-3', signed)
    signed.set('spec', spec)
    signed.set('award', { epoch: -4 })
    doc.getArray('ballots').push([{ jobId: 3 }])
    await until(() => market.pendingWork === 0)
    // task-junk-1 (not a map), task-junk-2's spec, task-junk-3's award, the junk ballot.
    expect(market.rejected).toBe(4)
    expect(errors).toEqual([])
    market.destroy()
  })
})

describe('splitText', () => {
  it('splits at breaks so that no piece is over the limit', () => {
    const text = 'one two three four five six seven eight nine ten'
    const pieces = splitText(text, 12)
    expect(pieces.every((piece) => piece.length <= 12)).toBe(true)
    expect(pieces.join(' ')).toBe(text)
    expect(splitText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij'])
    expect(splitText('   ', 4)).toEqual([])
  })
})

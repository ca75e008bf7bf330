// The early award (issue 16 part 4): a poster signs the award before the bid window ends once
// no peer that has not bid could plausibly beat the best bid in hand by more than a small margin.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { ChatRequest } from '../../src/inference/types'
import { awardsEarly, earlyAwardMargin, lowestPlausibleScore, type AwardChoice, type EarlyAwardContext } from '../../src/market/award-choice'
import { BidRatios } from '../../src/market/bid-ratios'
import { bidFloorMs, estimateTaskMs } from '../../src/market/estimate'
import type { Bid, Spec } from '../../src/market/schema'
import { sign } from '../../src/market/signing'
import { Suspicion } from '../../src/market/suspicion'
import { defaultConfig, identitySpeed, type LivePeer, type MarketConfig, type SpeedModel } from '../../src/market/types'
import { fixedSigner } from './market-sim/keys'
import { room, testRoomId, type RoomMember } from './market-sim/room'

// 100 prompt tokens and 32 to decode: 780 ms on a peer at 1000 / 50 tokens/s with 20 ms of link delay.
const request: ChatRequest = { messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 32 }
const spec: Spec = { v: 3, taskId: 'task-early-1', request, requirements: {}, poster: 'p'.repeat(20), publicKey: 'k', createdAt: 0, expiresAt: 1, sig: 's' }
const [a, b, c, h] = ['0a'.repeat(10), '0b'.repeat(10), '0c'.repeat(10), '0f'.repeat(10)] as const

function peer(nodeId: string, decodeTokensPerS = 50, prefillTokensPerS = 1000): LivePeer {
  return { nodeId, engine: { kind: 'wasm', modelId: 'm', state: 'ready', prefillTokensPerS, decodeTokensPerS }, queueLength: 0, visible: true, linkDelayMs: 20 }
}

const bidOf = (bidder: string, estimateMs: number): Bid => ({ taskId: spec.taskId, bidder, estimateMs, at: 0, publicKey: 'k', sig: 's' })
const choiceOf = (bid: Bid, preferred = true, estimateMs = bid.estimateMs): AwardChoice => ({ winner: bid, estimateMs, basis: null, preferred })
const noAvoid = { excluded: new Set<string>(), siblings: null, fallbackReady: false }

async function contextOf(peers: LivePeer[], speed: SpeedModel = identitySpeed): Promise<EarlyAwardContext & { suspicion: Suspicion }> {
  return { livePeers: () => peers, suspicion: new Suspicion(() => 0), reputation: () => 1, speed, report: (error) => expect.fail(String(error)), config: defaultConfig, signer: await fixedSigner(40) }
}

/** Ratios of peers seen bidding what their presence says. */
function seen(...peers: LivePeer[]): BidRatios {
  const ratios = new BidRatios()
  for (const p of peers) {
    const presenceMs = estimateTaskMs(p, spec, defaultConfig.maxQueue) ?? 0
    ratios.observe(p.nodeId, presenceMs, presenceMs)
  }
  return ratios
}

describe('BidRatios', () => {
  it('an unseen peer may bid down to half its presence; a seen one down to its lowest recent ratio, never above its presence', () => {
    const ratios = new BidRatios()
    expect(ratios.lowestLogRatio(a)).toBeCloseTo(-Math.log(2))
    ratios.observe(a, 1000, 1200)
    expect(ratios.lowestLogRatio(a)).toBe(0)
    ratios.observe(a, 1000, 800)
    expect(ratios.lowestLogRatio(a)).toBeCloseTo(Math.log(0.8))
    for (let i = 0; i < BidRatios.window; i++) ratios.observe(a, 1000, 1000)
    expect(ratios.lowestLogRatio(a)).toBe(0)
  })

  it('ignores junk times', () => {
    const ratios = new BidRatios()
    for (const [presence, bid] of [
      [0, 10],
      [10, 0],
      [Number.NaN, 10],
      [10, Number.POSITIVE_INFINITY],
    ] as const)
      ratios.observe(a, presence, bid)
    expect(ratios.lowestLogRatio(a)).toBeCloseTo(-Math.log(2))
  })
})

describe('awardsEarly', () => {
  it('awards at once when the best bid beats every missing peer’s bound', async () => {
    const peers = [peer(a), peer(b), peer(c)]
    const ctx = await contextOf(peers)
    const bids = new Map([[a, bidOf(a, 800)]])
    expect(awardsEarly(ctx, spec, choiceOf(bidOf(a, 800)), bids, noAvoid, seen(...peers))).toBe(true)
    // Missing peers that will not bid (a full queue), are suspected or avoided are not waited for either.
    const slow = [peer(a), { ...peer(b, 1000, 50_000), queueLength: defaultConfig.maxQueue }, peer(c, 1000, 50_000)]
    const ctx2 = await contextOf(slow)
    ctx2.suspicion.add(c, 3)
    expect(awardsEarly(ctx2, spec, choiceOf(bidOf(a, 800)), bids, noAvoid, seen(...slow))).toBe(true)
  })

  it('waits when a missing peer could plausibly win', async () => {
    const bids = new Map([[a, bidOf(a, 800)]])
    // c is faster by its presence.
    const faster = [peer(a), peer(b), peer(c, 100)]
    expect(awardsEarly(await contextOf(faster), spec, choiceOf(bidOf(a, 800)), bids, noAvoid, seen(...faster))).toBe(false)
    // c looks the same but was never seen bidding: its own speed model may halve its estimate.
    const same = [peer(a), peer(b), peer(c)]
    expect(awardsEarly(await contextOf(same), spec, choiceOf(bidOf(a, 800)), bids, noAvoid, seen(peer(a), peer(b)))).toBe(false)
    // c bid 30 % under its presence before.
    const ratios = seen(...same)
    ratios.observe(c, 1000, 700)
    expect(awardsEarly(await contextOf(same), spec, choiceOf(bidOf(a, 800)), bids, noAvoid, ratios)).toBe(false)
    // Only by more than the margin: a bid within it of every bound goes.
    expect(awardsEarly(await contextOf(same), spec, choiceOf(bidOf(a, 780 * (1 + earlyAwardMargin) + 1)), bids, noAvoid, seen(...same))).toBe(false)
    expect(awardsEarly(await contextOf(same), spec, choiceOf(bidOf(a, 780 * (1 + earlyAwardMargin) - 1)), bids, noAvoid, seen(...same))).toBe(true)
  })

  it('a choice among avoided peers never goes early: it waits for the window and the fallback', async () => {
    const peers = [peer(a), peer(b)]
    const bids = new Map([[a, bidOf(a, 800)]])
    expect(awardsEarly(await contextOf(peers), spec, choiceOf(bidOf(a, 800), false), bids, noAvoid, seen(...peers))).toBe(false)
  })

  it('a missing peer that claims impossible speeds is bounded by the floor: the poster waits for it, never the reverse', async () => {
    const ctx = await contextOf([peer(a), peer(h, 1e9, 1e9)])
    const bound = lowestPlausibleScore(ctx, spec, peer(h, 1e9, 1e9), new BidRatios())
    expect(bound).toBe(bidFloorMs(request))
    const bids = new Map([[a, bidOf(a, 800)]])
    expect(awardsEarly(ctx, spec, choiceOf(bidOf(a, 800)), bids, noAvoid, seen(peer(a), peer(h, 1e9, 1e9)))).toBe(false)
  })

  it('a bidder’s fast presence claims cannot lower its early score under its own signed bid', async () => {
    // A speed model that believes fast presence (as a net trained on honest peers would): h's 1000 ms bid corrects to 100 ms.
    const believing: SpeedModel = { predictMs: (peerId, _query, baseMs) => (peerId === h ? baseMs / 10 : baseMs), observe: () => undefined }
    const peers = [peer(h, 1000, 50_000), peer(b)]
    const ctx = await contextOf(peers, believing)
    const bids = new Map([[h, bidOf(h, 1000)]])
    // b is missing and plausibly bids 780 ms: h's corrected 100 ms would win the window, but only its 1000 ms promise counts early.
    expect(awardsEarly(ctx, spec, choiceOf(bidOf(h, 1000), true, 100), bids, noAvoid, seen(...peers))).toBe(false)
  })
})

const config: Partial<MarketConfig> = { bidWindowMs: 60_000, leaseMs: 3_000, outputBatchMs: 10, noBidTimeoutMs: 120_000, retainMs: 60_000 }
const until = async (check: () => boolean, timeoutMs = 10_000) => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const destroyAll = (members: RoomMember[]) => members.forEach((member) => member.market.destroy())
const taskOf = (member: RoomMember, taskId: string) => member.doc.getMap<Y.Map<unknown>>('tasks').get(taskId)
const awardOf = (member: RoomMember, taskId: string) => taskOf(member, taskId)?.get('award') as { executor: string } | undefined
const bidders = (member: RoomMember, taskId: string) => [...((taskOf(member, taskId)?.get('bids') as Y.Map<unknown> | undefined)?.keys() ?? [])]

/** A live peer of the room that never bids, with a presence of these speeds. */
async function silent(index: number, decodeTokensPerS: number): Promise<LivePeer> {
  const signer = await fixedSigner(index)
  return { nodeId: signer.nodeId, engine: { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 1000, decodeTokensPerS }, queueLength: 0, visible: true, linkDelayMs: 1 }
}

describe('early award in a room (a 60 s bid window that never ends here)', () => {
  it('awards before the window when the only peer that has not bid is a slow one', async () => {
    const { members, strangers } = await room([null, 200], config, 500)
    const [poster, executor] = members as [RoomMember, RoomMember]
    strangers.push(await silent(510, 2))
    const result = await poster.market.submit(request).result
    expect(result.executor).toBe(executor.signer.nodeId)
    destroyAll(members)
  })

  it('waits while a peer that has not bid could plausibly win, and awards once it leaves', async () => {
    const { members, strangers } = await room([null, 200], config, 520)
    const [poster, executor] = members as [RoomMember, RoomMember]
    strangers.push(await silent(530, 1000))
    const handle = poster.market.submit(request)
    await until(() => bidders(poster, handle.id).includes(executor.signer.nodeId) && poster.market.pendingWork === 0)
    // Several of the poster's ticks (300 ms) with the bid in hand.
    await pause(700)
    expect(awardOf(poster, handle.id)).toBeUndefined()
    strangers.splice(0)
    expect((await handle.result).executor).toBe(executor.signer.nodeId)
    destroyAll(members)
  })

  it('a bid under the floor never wins it: refused, its bidder suspected, the honest bid awarded', async () => {
    const { members, strangers } = await room([null, 200], config, 540)
    const [poster, executor] = members as [RoomMember, RoomMember]
    const m = { signer: await fixedSigner(550), roomId: testRoomId }
    // Mallory claims the fastest engine there is and bids 0 ms at once.
    strangers.push({ ...(await silent(550, 1000)), engine: { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 50_000, decodeTokensPerS: 1_000 } })
    const tasks = poster.doc.getMap<Y.Map<unknown>>('tasks')
    const onTask = () => {
      for (const [taskId, task] of tasks.entries()) {
        const bids = task.get('bids')
        if (bids instanceof Y.Map && !bids.has(m.signer.nodeId))
          void sign('bid', { taskId, bidder: m.signer.nodeId, estimateMs: 0, at: Date.now(), publicKey: m.signer.publicKey }, m).then((bid) => bids.set(m.signer.nodeId, bid))
      }
    }
    tasks.observeDeep(onTask)
    const handle = poster.market.submit(request)
    const result = await handle.result
    tasks.unobserveDeep(onTask)
    expect(result.executor).toBe(executor.signer.nodeId)
    expect(poster.market.suspected(m.signer.nodeId)).toBe(true)
    expect(awardOf(poster, handle.id)?.executor).toBe(executor.signer.nodeId)
    destroyAll(members)
  })
})

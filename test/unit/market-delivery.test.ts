// A node checks signatures only for what concerns it (issue 16, part 2): a task whose wave of
// bidders does not include it costs it no check until its wave is due. Skipping must decide
// nothing: a node that skipped still refuses a forged award, and a forged record written while
// it waited must not keep it from bidding once its wave is due.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { rendezvousRank } from '../../src/market/award'
import { sign, Verdicts, type RoomSigner } from '../../src/market/signing'
import type { ChatRequest } from '../../src/inference/types'
import type { LivePeer, MarketConfig } from '../../src/market/types'
import { fixedSigner } from './market-sim/keys'
import { room, testRoomId, type RoomMember } from './market-sim/room'

const request: ChatRequest = { messages: [{ role: 'user', content: 'Name three rivers.' }], max_tokens: 6 }
/** One bidder per wave; a wave is due two bid windows after the one before. */
const config: Partial<MarketConfig> = { bidWindowMs: 150, leaseMs: 600, outputBatchMs: 10, noBidTimeoutMs: 10_000, retainMs: 60_000, maxBidders: 1 }

const until = async (check: () => boolean, timeoutMs = 8_000) => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const taskOf = (member: RoomMember, taskId: string): Y.Map<unknown> | undefined => member.doc.getMap<Y.Map<unknown>>('tasks').get(taskId)
const bidders = (member: RoomMember, taskId: string): string[] => {
  const bids = taskOf(member, taskId)?.get('bids')
  return bids instanceof Y.Map ? [...bids.keys()] : []
}

/** A peer presence shows as ready to run anything, that never bids: it holds wave 0 of the task. */
const silentPeer = (nodeId: string): LivePeer => ({
  nodeId,
  engine: { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 1000, decodeTokensPerS: 1000 },
  queueLength: 0,
  visible: true,
  linkDelayMs: 1,
})

/**
 * A poster and two executors whose task ranks the silent peer first, then `second`, then
 * `third` (maxBidders 1: waves 0, 1, 2). Each member has its own verdicts, to count its checks.
 */
async function wavedRoom(firstKey: number): Promise<{ members: RoomMember[]; verdicts: Verdicts[]; taskId: string; second: RoomMember; third: RoomMember; mallory: RoomSigner }> {
  const mallory: RoomSigner = { signer: await fixedSigner(firstKey + 50), roomId: testRoomId }
  const silent = (await fixedSigner(firstKey + 60)).nodeId
  const executors = [(await fixedSigner(firstKey + 1)).nodeId, (await fixedSigner(firstKey + 2)).nodeId]
  // The task id is the poster's to choose: one where the silent peer ranks first.
  let taskId = ''
  for (let n = 0; taskId === ''; n++) if (rendezvousRank(`waved-task-${n}`, silent, [silent, ...executors]) === 0) taskId = `waved-task-${n}`
  const verdicts = [new Verdicts(), new Verdicts(), new Verdicts()]
  const { members, strangers } = await room([null, 20, 20], config, firstKey, (index) => ({ verdicts: verdicts[index] as Verdicts, ...(index === 0 ? { newId: () => taskId } : {}) }))
  strangers.push(silentPeer(silent))
  const [, a, b] = members as [RoomMember, RoomMember, RoomMember]
  const second = rendezvousRank(taskId, a.signer.nodeId, [silent, ...executors]) === 1 ? a : b
  const third = second === a ? b : a
  return { members, verdicts, taskId, second, third, mallory }
}

describe('market: a node checks only what concerns it', () => {
  it('a node outside the first wave checks no signature until its wave is due, then bids and runs the task', async () => {
    const { members, verdicts, taskId, second, third } = await wavedRoom(700)
    const [poster] = members as [RoomMember]
    const thirdVerdicts = verdicts[members.indexOf(third)] as Verdicts
    const secondVerdicts = verdicts[members.indexOf(second)] as Verdicts
    const started = Date.now()
    const handle = poster.market.submit(request)
    await until(() => taskOf(second, taskId) !== undefined && taskOf(third, taskId) !== undefined)
    // Wave 1 is due 2 bid windows after the task was seen: until then neither executor checks anything.
    await new Promise((resolve) => setTimeout(resolve, config.bidWindowMs ?? 0))
    if (Date.now() - started < 2 * (config.bidWindowMs ?? 0)) {
      expect(secondVerdicts.checks).toBe(0)
      expect(thirdVerdicts.checks).toBe(0)
    }
    const result = await handle.result
    // The silent peer never bid: wave 1 did, and ran it; wave 2 found it taken.
    expect(result.executor).toBe(second.signer.nodeId)
    expect(bidders(poster, taskId)).toEqual([second.signer.nodeId])
    expect(secondVerdicts.checks).toBeGreaterThan(0)
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * (config.bidWindowMs ?? 0))
    members.forEach((member) => member.market.destroy())
  })

  it('a forged award or close written while a node waits for its wave neither runs on it nor keeps it from bidding', async () => {
    const { members, taskId, second, third, mallory } = await wavedRoom(800)
    const [poster] = members as [RoomMember]
    const handle = poster.market.submit(request)
    await until(() => taskOf(second, taskId)?.get('spec') !== undefined)
    const task = taskOf(poster, taskId) as Y.Map<unknown>
    // Mallory, with a real key of her own, awards the task to the waiting node and closes it, in the poster's name.
    task.set('award', await sign('award', { taskId, epoch: 1, executor: third.signer.nodeId, executorKey: third.signer.publicKey, at: Date.now() }, mallory))
    task.set('close', await sign('close', { taskId, status: 'cancelled', reason: 'forged', at: Date.now() }, mallory))
    const result = await handle.result
    expect(result.executor).toBe(second.signer.nodeId)
    // The award that named it was checked (it names it) and refused: it never ran, nor bid out of turn.
    expect(third.market.refusedAwards).toBe(0)
    expect(bidders(poster, taskId)).toEqual([second.signer.nodeId])
    members.forEach((member) => member.market.destroy())
  })

  it('an award signed by the poster that names a node that did not bid is still refused', async () => {
    const { members, taskId, third } = await wavedRoom(900)
    const [poster] = members as [RoomMember]
    const handle = poster.market.submit(request)
    await until(() => taskOf(third, taskId)?.get('spec') !== undefined)
    const task = taskOf(poster, taskId) as Y.Map<unknown>
    // The poster's own key signs an award the waiting node never asked for (before the poster's own award).
    task.set('award', await sign('award', { taskId, epoch: 7, executor: third.signer.nodeId, executorKey: third.signer.publicKey, at: Date.now() }, { signer: poster.signer, roomId: testRoomId }))
    await until(() => third.market.refusedAwards === 1)
    expect(third.market.queueLength()).toBe(0)
    handle.cancel('test over')
    await handle.result.catch(() => undefined)
    members.forEach((member) => member.market.destroy())
  })
})

// The "serve peers" terms (src/market/serve.ts): what a node runs for the room's other members.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { EngineTurns } from '../../src/market/engine-turns'
import { bidFloorMs } from '../../src/market/estimate'
import type { ServePolicy } from '../../src/market/serve'
import { sign } from '../../src/market/signing'
import { writeBid } from '../../src/market/task-doc'
import type { Engine } from '../../src/inference/engine'
import type { ChatRequest } from '../../src/inference/types'
import { fixedSigner } from './market-sim/keys'
import { SimEngine } from './market-sim/engine'
import { realTimers, room, testRoomId, type RoomMember } from './market-sim/room'

const ask = (k: number): ChatRequest => ({ messages: [{ role: 'user', content: `question ${k}` }], max_tokens: 4 })
const policy = (changes: Partial<ServePolicy> = {}): ServePolicy => ({ mode: 'always', tasksPerMinute: 100, concurrentPerMember: 8, ...changes })
const destroyAll = (members: RoomMember[]) => members.forEach((member) => member.market.destroy())

/** Every bidder on every task in the doc. */
function biddersIn(doc: Y.Doc): Set<string> {
  const bidders = new Set<string>()
  for (const task of doc.getMap<Y.Map<unknown>>('tasks').values()) for (const bidder of (task.get('bids') as Y.Map<unknown>).keys()) bidders.add(bidder)
  return bidders
}

describe('market: serving on the user’s terms', () => {
  it('a node with serve "off" never bids, not even on its own tasks, which run elsewhere', async () => {
    const terms = [policy({ mode: 'off' }), policy()]
    // The fast node is the one that does not serve: it would win every award otherwise.
    const { members } = await room([500, 20], undefined, 100, (index) => ({ serve: () => terms[index] ?? policy() }))
    const [quiet, other] = members as [RoomMember, RoomMember]
    const handles = [0, 1, 2].flatMap((k) => [quiet.market.submit(ask(k)), other.market.submit(ask(10 + k))])
    const results = await Promise.all(handles.map((handle) => handle.result))
    expect(new Set(results.map((result) => result.executor))).toEqual(new Set([other.signer.nodeId]))
    expect(biddersIn(quiet.doc).has(quiet.signer.nodeId)).toBe(false)
    // Told it may serve again, it bids on what comes next.
    terms[0] = policy()
    quiet.market.reconsider()
    const later = await other.market.submit(ask(99)).result
    expect(later.executor).toBe(quiet.signer.nodeId)
    destroyAll(members)
  })

  it('a poster does not award a peer whose presence says off, even when it bids the best', async () => {
    const { members, strangers } = await room([null, 20])
    const [poster, executor] = members as [RoomMember, RoomMember]
    const m = { signer: await fixedSigner(667), roomId: testRoomId }
    strangers.push({
      nodeId: m.signer.nodeId,
      engine: { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 1000, decodeTokensPerS: 1000 },
      queueLength: 0,
      visible: true,
      linkDelayMs: 1,
      serve: 'off',
    })
    const tasks = poster.doc.getMap<Y.Map<unknown>>('tasks')
    const bidOnce = new Set<string>()
    tasks.observeDeep(() => {
      for (const [taskId, task] of tasks.entries()) {
        if (bidOnce.has(taskId) || !(task.get('bids') instanceof Y.Map)) continue
        bidOnce.add(taskId)
        void sign('bid', { taskId, bidder: m.signer.nodeId, estimateMs: bidFloorMs(ask(1)), at: Date.now(), publicKey: m.signer.publicKey }, m).then((bid) => writeBid(task, bid))
      }
    })
    const result = await poster.market.submit(ask(1)).result
    expect(bidOnce.size).toBe(1)
    expect(result.executor).toBe(executor.signer.nodeId)
    destroyAll(members)
  })

  it('with a limit of 1 task per minute per member, a second task from the same member within the minute goes to another peer', async () => {
    const fastTerms = policy({ tasksPerMinute: 1 })
    const { members } = await room([null, null, 500, 20], undefined, 100, (index) => (index === 2 ? { serve: () => fastTerms } : {}))
    const [poster, second, fast, slow] = members as [RoomMember, RoomMember, RoomMember, RoomMember]
    const first = await poster.market.submit(ask(1)).result
    expect(first.executor).toBe(fast.signer.nodeId)
    const again = await poster.market.submit(ask(2)).result
    expect(again.executor).toBe(slow.signer.nodeId)
    // The limit is per member: another member's task still goes to the fast node.
    const fromAnother = await second.market.submit(ask(3)).result
    expect(fromAnother.executor).toBe(fast.signer.nodeId)
    destroyAll(members)
  })

  it('with 1 concurrent task per member, a burst from one member is spread over the peers', async () => {
    // The fast node's first answer waits until the slow node starts on the other task, so the
    // first is still open when the second is awarded, however loaded the machine. A fast node
    // that took both would wait for the slow one forever, and the test would time out.
    let slowStarted = (): void => undefined
    const started = new Promise<void>((resolve) => (slowStarted = resolve))
    const slowEngine = new SimEngine(realTimers, 5, false, () => slowStarted())
    const fastEngine = new SimEngine(realTimers, 100)
    const heldFast: Engine = {
      kind: 'wasm',
      load: () => fastEngine.load(),
      unload: () => fastEngine.unload(),
      info: () => fastEngine.info(),
      async *chat(request, signal) {
        await started
        yield* fastEngine.chat(request, signal)
      },
    }
    const { members } = await room([null, heldFast, slowEngine], undefined, 100, (index) => (index === 1 ? { serve: () => policy({ concurrentPerMember: 1 }) } : {}))
    const [poster, fast, slow] = members as [RoomMember, RoomMember, RoomMember]
    const results = await Promise.all([poster.market.submit(ask(1)).result, poster.market.submit(ask(2)).result])
    expect(new Set(results.map((result) => result.executor))).toEqual(new Set([fast.signer.nodeId, slow.signer.nodeId]))
    destroyAll(members)
  })

  it('serve "idle" bids only while the tab is not busy with its own work, and again once it is idle', async () => {
    let busy = true
    const { members } = await room([null, 200], undefined, 100, (index) => (index === 1 ? { serve: () => policy({ mode: 'idle' }), busy: () => busy } : {}))
    const [poster, idle] = members as [RoomMember, RoomMember]
    const handle = poster.market.submit(ask(1))
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(biddersIn(poster.doc).size).toBe(0)
    busy = false
    idle.market.reconsider()
    expect((await handle.result).executor).toBe(idle.signer.nodeId)
    destroyAll(members)
  })
})

describe('market: who gave is served first from a busy executor’s queue', () => {
  it('gives the engine to the waiting run with the highest priority, the longest waiting among equals', async () => {
    const turns = new EngineTurns()
    const order: string[] = []
    const balances = new Map([
      ['first', 0],
      ['taker', -50],
      ['giver', 100],
      ['even', 0],
    ])
    const runs = ['first', 'taker', 'giver', 'even'].map(async (name) => {
      const release = await turns.take(() => balances.get(name) ?? 0)
      order.push(name)
      await new Promise((resolve) => setTimeout(resolve, 5))
      release()
      release()
    })
    await Promise.all(runs)
    expect(order).toEqual(['first', 'giver', 'even', 'taker'])
  })
})

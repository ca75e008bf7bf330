// Each field of the task contract has one writer (src/market/schema.ts). Here a member of
// the room with a real key of its own, Mallory, writes each of them in someone else's name;
// every reader must drop what she wrote, and the honest task must end as if she were not there.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Engine } from '../../src/inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../../src/inference/types'
import { TaskDeletedError } from '../../src/market/errors'
import { bidFloorMs } from '../../src/market/estimate'
import { sign, signResult, type RoomSigner } from '../../src/market/signing'
import type { TaskEvent } from '../../src/market/types'
import { answerOf } from './market-sim/engine'
import { fixedSigner } from './market-sim/keys'
import { room, statusIn, testRoomId, type RoomMember } from './market-sim/room'

const request: ChatRequest = { messages: [{ role: 'user', content: 'Name three rivers.' }], max_tokens: 10 }
const answer = answerOf(request).join(' ')

/** Streams `first`, then waits for the test before it finishes with `rest`. */
class HeldEngine implements Engine {
  readonly kind = 'wasm' as const
  release: () => void = () => undefined
  runs = 0
  constructor(
    private readonly first = 'honest ',
    private readonly rest = 'answer',
  ) {}
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = (): EngineInfo => ({ kind: 'wasm', modelId: 'sim', contextSize: 4096, availability: 'ready', supports: { tools: false, jsonSchema: false }, prefillTokensPerS: 1000, decodeTokensPerS: 1000 })
  async *chat(_request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    this.runs++
    yield chunk(this.first, null)
    await new Promise<void>((resolve, reject) => {
      this.release = resolve
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
    })
    yield chunk(this.rest, 'stop')
  }
}

function chunk(content: string, finish: 'stop' | null): ChatChunk {
  return { id: 'h', object: 'chat.completion.chunk', created: 0, model: 'sim', choices: [{ index: 0, delta: { content }, finish_reason: finish }] }
}

const until = async (check: () => boolean, timeoutMs = 5_000) => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function collect(chunks: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> {
  const events: TaskEvent[] = []
  try {
    for await (const event of chunks) events.push(event)
  } catch {
    // the result's rejection is asserted on its own
  }
  return events
}

const shownText = (events: TaskEvent[]): string => {
  let text = ''
  for (const event of events) text = event.type === 'restart' ? '' : text + event.text
  return text
}

const mallory = async (): Promise<RoomSigner> => ({ signer: await fixedSigner(666), roomId: testRoomId })
const taskOf = (member: RoomMember, taskId: string): Y.Map<unknown> => member.doc.getMap<Y.Map<unknown>>('tasks').get(taskId) as Y.Map<unknown>
const destroyAll = (members: RoomMember[]) => members.forEach((member) => member.market.destroy())

describe('market: a field forged by the wrong writer is ignored', () => {
  it('leases, batches, results, failures, lapses, closes and awards in others’ names change nothing', async () => {
    const held = new HeldEngine()
    const { members } = await room([null, held])
    const [poster, executor] = members as [RoomMember, RoomMember]
    const handle = poster.market.submit(request)
    const events = collect(handle.chunks)
    await until(() => statusIn(poster.doc, handle.id) === 'running')
    const task = taskOf(poster, handle.id)
    const m = await mallory()
    const named = { taskId: handle.id, epoch: 1, executor: executor.signer.nodeId }
    task.set('lease', await sign('lease', { ...named, until: Date.now() + 60_000 }, m))
    task.set('lease', { ...named, until: Date.now() + 60_000 })
    const output = task.get('output') as Y.Array<unknown>
    const { taskId: _t, ...batch } = await sign('batch', { taskId: handle.id, epoch: 1, seq: 1, text: 'INJECTED' }, m)
    output.push([batch, { epoch: 1, seq: 1, text: 'INJECTED unsigned' }])
    task.set('result', await signResult({ ...named, poster: poster.signer.nodeId, publicKey: executor.signer.publicKey, text: 'INJECTED', finish: 'stop' }, m))
    task.set('failure', await sign('failure', { ...named, reason: 'forged' }, m))
    task.set('lapse', await sign('lapse', { taskId: handle.id, epoch: 1, reason: 'forged', at: 1 }, m))
    task.set('close', await sign('close', { taskId: handle.id, status: 'cancelled', reason: 'forged', at: 1 }, m))
    task.set('status', 'done')
    task.set('award', await sign('award', { taskId: handle.id, epoch: 2, executor: m.signer.nodeId, executorKey: m.signer.publicKey, at: 1 }, m))
    await until(() => members.every((member) => member.market.pendingWork === 0))
    // The poster put its own award back; the executor still runs epoch 1.
    expect((task.get('award') as { epoch: number }).epoch).toBe(1)
    held.release()
    const result = await handle.result
    expect(result).toMatchObject({ text: 'honest answer', executor: executor.signer.nodeId, epoch: 1 })
    expect(shownText(await events)).toBe('honest answer')
    expect((await events).some((event) => event.type === 'text' && event.text.includes('INJECTED'))).toBe(false)
    expect(held.runs).toBe(1)
    destroyAll(members)
  })

  it('a record signed for another room is refused', async () => {
    const held = new HeldEngine()
    const { members } = await room([null, held])
    const [poster, executor] = members as [RoomMember, RoomMember]
    const handle = poster.market.submit(request)
    await until(() => statusIn(poster.doc, handle.id) === 'running')
    const task = taskOf(poster, handle.id)
    // The poster itself, signing a close for the same task id in another room: a replay across rooms.
    const elsewhere = { signer: poster.signer, roomId: 'another-room' }
    task.set('close', await sign('close', { taskId: handle.id, status: 'cancelled', reason: 'other room', at: 1 }, elsewhere))
    await until(() => members.every((member) => member.market.pendingWork === 0))
    held.release()
    expect((await handle.result).executor).toBe(executor.signer.nodeId)
    destroyAll(members)
  })

  it('a bid under the physical floor is refused and its bidder suspected; a hung executor is re-awarded and suspected', async () => {
    const { members, strangers } = await room([null, 200], { bidWindowMs: 60, leaseMs: 300, outputBatchMs: 10, noBidTimeoutMs: 5_000, retainMs: 60_000, deliveryGraceMs: 300, deliveryFactor: 2 })
    const [poster, executor] = members as [RoomMember, RoomMember]
    const m = await mallory()
    const claimsFast = {
      nodeId: m.signer.nodeId,
      engine: { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 50_000, decodeTokensPerS: 1_000 },
      queueLength: 0,
      visible: true,
      linkDelayMs: 1,
    } as const
    strangers.push(claimsFast)
    const tasks = poster.doc.getMap<Y.Map<unknown>>('tasks')
    let hang = false
    // Mallory bids 0 ms on the first task; on the second, exactly the floor, then hangs with a signed lease.
    const onTask = () => {
      for (const [taskId, task] of tasks.entries()) {
        const bids = task.get('bids')
        if (!(bids instanceof Y.Map) || bids.has(m.signer.nodeId)) continue
        const estimateMs = hang ? bidFloorMs(request) : 0
        void sign('bid', { taskId, bidder: m.signer.nodeId, estimateMs, at: Date.now(), publicKey: m.signer.publicKey }, m).then((bid) => bids.set(m.signer.nodeId, bid))
      }
      for (const [taskId, task] of tasks.entries()) {
        const award = task.get('award') as { epoch: number; executor: string } | undefined
        if (award?.executor === m.signer.nodeId && !task.has('close'))
          void sign('lease', { taskId, epoch: award.epoch, executor: m.signer.nodeId, until: Date.now() }, m).then((lease) => task.set('lease', lease))
      }
    }
    tasks.observeDeep(onTask)
    const first = await poster.market.submit(request).result
    expect(first.executor).toBe(executor.signer.nodeId)
    expect(poster.market.suspected(m.signer.nodeId)).toBe(true)
    tasks.unobserveDeep(onTask)
    destroyAll(members)

    // A fresh room where Mallory looks honest (at the floor) and hangs once awarded.
    const next = await room([null, 200], { bidWindowMs: 60, leaseMs: 300, outputBatchMs: 10, noBidTimeoutMs: 5_000, retainMs: 60_000, deliveryGraceMs: 300, deliveryFactor: 2 }, 300)
    const [poster2, executor2] = next.members as [RoomMember, RoomMember]
    next.strangers.push(claimsFast)
    const tasks2 = poster2.doc.getMap<Y.Map<unknown>>('tasks')
    hang = true
    const onTask2 = () => {
      for (const [taskId, task] of tasks2.entries()) {
        const bids = task.get('bids')
        if (bids instanceof Y.Map && !bids.has(m.signer.nodeId))
          void sign('bid', { taskId, bidder: m.signer.nodeId, estimateMs: bidFloorMs(request), at: Date.now(), publicKey: m.signer.publicKey }, m).then((bid) => bids.set(m.signer.nodeId, bid))
        const award = task.get('award') as { epoch: number; executor: string } | undefined
        const lease = task.get('lease') as { executor?: string; until?: number } | undefined
        if (award?.executor === m.signer.nodeId && !task.has('close') && (lease?.executor !== m.signer.nodeId || (lease.until ?? 0) < Date.now()))
          void sign('lease', { taskId, epoch: award.epoch, executor: m.signer.nodeId, until: Date.now() + 50 }, m).then((signed) => task.set('lease', signed))
      }
    }
    tasks2.observeDeep(onTask2)
    const renew = setInterval(onTask2, 50)
    const handle = poster2.market.submit(request)
    const events = collect(handle.chunks)
    const result = await handle.result
    clearInterval(renew)
    tasks2.unobserveDeep(onTask2)
    expect(result).toMatchObject({ executor: executor2.signer.nodeId, epoch: 2, text: answer })
    expect((await events).flatMap((event) => (event.type === 'restart' ? [event.reason] : []))).toContain('no answer in the time it promised')
    expect(poster2.market.suspected(m.signer.nodeId)).toBe(true)
    expect(poster2.market.suspects().map((suspect) => suspect.nodeId)).toEqual([m.signer.nodeId])
    destroyAll(next.members)
  })

  it('an award to a node that did not bid is not run', async () => {
    const held = new HeldEngine()
    const { members } = await room([null, held])
    const [, executor] = members as [RoomMember, RoomMember]
    const m = await mallory()
    const taskId = 'unsolicited-task-1'
    const spec = await sign(
      'spec',
      { v: 3, taskId, request, requirements: { engineKinds: ['webgpu'] }, poster: m.signer.nodeId, publicKey: m.signer.publicKey, createdAt: Date.now(), expiresAt: Date.now() + 60_000 },
      m,
    )
    const task = new Y.Map<unknown>()
    executor.doc.transact(() => {
      executor.doc.getMap('tasks').set(taskId, task)
      task.set('spec', spec)
      task.set('bids', new Y.Map())
      task.set('output', new Y.Array())
    })
    task.set('award', await sign('award', { taskId, epoch: 1, executor: executor.signer.nodeId, executorKey: executor.signer.publicKey, at: Date.now() }, m))
    await until(() => executor.market.refusedAwards === 1)
    expect(held.runs).toBe(0)
    destroyAll(members)
  })

  it('a deleted task is posted again and ends with the honest answer; one deleted every time fails with TaskDeletedError', async () => {
    const { members } = await room([null, 200])
    const [poster, executor] = members as [RoomMember, RoomMember]
    const tasks = executor.doc.getMap<unknown>('tasks')
    let deletions = 0
    const once = (event: Y.YMapEvent<unknown>) => {
      for (const key of event.keysChanged as Set<string>) {
        if (deletions === 0 && tasks.has(key)) {
          deletions++
          queueMicrotask(() => tasks.delete(key))
        }
      }
    }
    tasks.observe(once)
    const result = await poster.market.submit(request).result
    tasks.unobserve(once)
    expect(deletions).toBe(1)
    expect(result).toMatchObject({ executor: executor.signer.nodeId, text: answer })

    const always = (event: Y.YMapEvent<unknown>) => {
      for (const key of event.keysChanged as Set<string>) if (tasks.has(key)) queueMicrotask(() => tasks.delete(key))
    }
    tasks.observe(always)
    const started = Date.now()
    await expect(poster.market.submit(request).result).rejects.toThrow(TaskDeletedError)
    expect(Date.now() - started).toBeLessThan(5_000)
    tasks.unobserve(always)
    destroyAll(members)
  })

  it('streamed text that differs from the signed result is replaced by it', async () => {
    const held = new HeldEngine('draft ', 'text')
    const { members } = await room([null, held])
    const [poster, executor] = members as [RoomMember, RoomMember]
    const handle = poster.market.submit(request)
    const events: TaskEvent[] = []
    const consumed = (async () => {
      for await (const event of handle.chunks) events.push(event)
    })()
    await until(() => shownText(events) === 'draft ')
    // The awarded executor's own signature on a final text the stream did not lead to.
    const { signer } = executor
    const result = await signResult(
      { taskId: handle.id, poster: poster.signer.nodeId, epoch: 1, executor: signer.nodeId, publicKey: signer.publicKey, text: 'final', finish: 'stop' },
      { signer, roomId: testRoomId },
    )
    taskOf(poster, handle.id).set('result', result)
    expect((await handle.result).text).toBe('final')
    await consumed
    expect(shownText(events)).toBe('final')
    expect(events.filter((event) => event.type === 'restart')).toMatchObject([{ reason: 'the signed answer replaces the streamed text' }])
    held.release()
    destroyAll(members)
  })
})

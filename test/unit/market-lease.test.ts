// The lease rules of a hung executor's failover (issue 16, part 3): a visible executor silent for
// liveMs loses its award even though its signed lease says longer; a fresh signed batch of the
// current epoch counts as a renewal; a stale, replayed or forged one does not keep a dead
// executor alive; renewals cover a long prefill; the poster's own stall is not the executor's silence.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Engine } from '../../src/inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../../src/inference/types'
import { gapFactor, leaseLapsed, liveWindowMs, PeerRhythm, renewEveryMs, rhythmHalfLifeMs } from '../../src/market/award'
import { sign, type RoomSigner } from '../../src/market/signing'
import { defaultConfig, type MarketConfig, type TaskEvent } from '../../src/market/types'
import { fixedSigner } from './market-sim/keys'
import { room, statusIn, testRoomId, type RoomMember } from './market-sim/room'

const request: ChatRequest = { messages: [{ role: 'user', content: 'Name three rivers.' }], max_tokens: 10 }
/** A lease far longer than any of these tests: only the liveness window can lapse an award in time. */
const config: Partial<MarketConfig> = { bidWindowMs: 30, leaseMs: 60_000, liveMs: 300, renewMs: 60, outputBatchMs: 10, noBidTimeoutMs: 5_000, retainMs: 60_000 }

const info = (): EngineInfo => ({
  kind: 'wasm',
  modelId: 'sim',
  contextSize: 4096,
  availability: 'ready',
  supports: { tools: false, jsonSchema: false },
  prefillTokensPerS: 1000,
  decodeTokensPerS: 1000,
})
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true })
  })

function chunk(content: string, finish: 'stop' | null): ChatChunk {
  return { id: 'l', object: 'chat.completion.chunk', created: 0, model: 'sim', choices: [{ index: 0, delta: { content }, finish_reason: finish }] }
}

/** Waits `prefillMs` (a long prompt's prefill: no output), then streams `count` words `everyMs` apart. */
class PacedEngine implements Engine {
  readonly kind = 'wasm' as const
  runs = 0
  constructor(
    private readonly count: number,
    private readonly everyMs: number,
    private readonly prefillMs = 0,
  ) {}
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = info
  async *chat(_request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    this.runs++
    await sleep(this.prefillMs, signal)
    for (let i = 0; i < this.count; i++) {
      if (i > 0) await sleep(this.everyMs, signal)
      yield chunk(`w${i} `, i === this.count - 1 ? 'stop' : null)
    }
  }
}

/** Streams a first word, then hangs until aborted. */
class HangingEngine implements Engine {
  readonly kind = 'wasm' as const
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = info
  async *chat(_request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    yield chunk('first ', null)
    await new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))
  }
}

const until = async (check: () => boolean, timeoutMs = 5_000) => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out')
    await sleep(5)
  }
}

async function collect(chunks: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> {
  const events: TaskEvent[] = []
  for await (const event of chunks) events.push(event)
  return events
}

const restarts = (events: TaskEvent[]): string[] => events.flatMap((event) => (event.type === 'restart' ? [event.reason] : []))
const taskOf = (member: RoomMember, taskId: string): Y.Map<unknown> => member.doc.getMap<Y.Map<unknown>>('tasks').get(taskId) ?? new Y.Map()
/** Output batches in the task as `member` sees it (0 before the task is there). */
const batchCount = (member: RoomMember, taskId: string): number => {
  const output = taskOf(member, taskId).get('output')
  return output instanceof Y.Array ? output.length : 0
}
const destroyAll = (members: RoomMember[]) => members.forEach((member) => member.market.destroy())

/** The executor (the room's first engine) runs the task once and answers with no restart. */
async function expectOneRun(engine: PacedEngine, roomConfig: Partial<MarketConfig>): Promise<void> {
  const { members } = await room([null, engine, 300], roomConfig)
  const [poster, executor] = members as [RoomMember, RoomMember, RoomMember]
  const handle = poster.market.submit(request)
  const events = collect(handle.chunks)
  const result = await handle.result
  expect(result).toMatchObject({ epoch: 1, executor: executor.signer.nodeId })
  expect(restarts(await events)).toEqual([])
  expect(engine.runs).toBe(1)
  destroyAll(members)
}

describe('lease rules', () => {
  it('a visible executor has liveMs without a sign of life; a hidden one leaseMs; a window follows the gaps it showed, up to leaseMs', () => {
    const lease = { leaseMs: 3_000, liveMs: 700 }
    expect(liveWindowMs(lease, { visible: true, maxGapMs: 0, expectedMs: Infinity })).toBe(700)
    expect(liveWindowMs(lease, { visible: true, maxGapMs: 200, expectedMs: Infinity })).toBe(700)
    expect(liveWindowMs(lease, { visible: true, maxGapMs: 600, expectedMs: Infinity })).toBe(600 * gapFactor)
    expect(liveWindowMs(lease, { visible: true, maxGapMs: 10_000, expectedMs: Infinity })).toBe(3_000)
    expect(liveWindowMs(lease, { visible: false, maxGapMs: 0, expectedMs: 100 })).toBe(3_000)
    // A lease shorter than liveMs (a fast simulation) stays what it is.
    expect(liveWindowMs({ leaseMs: 300, liveMs: 700 }, { visible: true, maxGapMs: 0, expectedMs: Infinity })).toBe(300)
    expect(leaseLapsed(1_000, 700, 1_700)).toBe(false)
    expect(leaseLapsed(1_000, 700, 1_701)).toBe(true)
  })

  it('a short task keeps a short lease: its window grows with the gaps only up to its expected duration', () => {
    const lease = { leaseMs: 3_000, liveMs: 700 }
    expect(liveWindowMs(lease, { visible: true, maxGapMs: 800, expectedMs: 500 })).toBe(700)
    expect(liveWindowMs(lease, { visible: true, maxGapMs: 800, expectedMs: 1_200 })).toBe(1_200)
    expect(liveWindowMs(lease, { visible: true, maxGapMs: 800, expectedMs: 60_000 })).toBe(800 * gapFactor)
  })

  it("an executor's longest gap is remembered over its awards and fades with a half-life", () => {
    const rhythm = new PeerRhythm(2)
    expect(rhythm.gapMs('a', 0)).toBe(0)
    rhythm.observe('a', 400, 1_000)
    rhythm.observe('a', 100, 2_000)
    expect(rhythm.gapMs('a', 2_000)).toBeCloseTo(400 * 0.5 ** (1_000 / rhythmHalfLifeMs), 5)
    expect(rhythm.gapMs('a', 2_000 + rhythmHalfLifeMs)).toBeCloseTo(rhythm.gapMs('a', 2_000) / 2, 5)
    // The oldest peer goes when the map is full.
    rhythm.observe('b', 50, 3_000)
    rhythm.observe('c', 50, 3_000)
    expect(rhythm.gapMs('a', 3_000)).toBe(0)
    expect(rhythm.gapMs('c', 3_000)).toBe(50)
  })

  it('renewals come every renewMs, and at least three times a lease', () => {
    expect(renewEveryMs(defaultConfig)).toBe(defaultConfig.renewMs)
    expect(renewEveryMs(defaultConfig)).toBeLessThan(defaultConfig.liveMs / 3)
    expect(renewEveryMs({ leaseMs: 90, renewMs: 200 })).toBe(30)
  })
})

describe('market: liveness of an executor', () => {
  it('a frozen executor (still in the presence, no renewal, no batch) is replaced after liveMs, although its signed lease runs for a minute', async () => {
    const { members } = await room([null, new HangingEngine(), 300], config)
    const [poster, hung, second] = members as [RoomMember, RoomMember, RoomMember]
    const handle = poster.market.submit(request)
    const events = collect(handle.chunks)
    await until(() => (taskOf(poster, handle.id).get('award') as { executor?: string } | undefined)?.executor !== undefined)
    expect((taskOf(poster, handle.id).get('award') as { executor: string }).executor).toBe(hung.signer.nodeId)
    await until(() => batchCount(poster, handle.id) > 0)
    // Frozen: its market does nothing any more, but it stays in the room's presence.
    hung.market.destroy()
    const result = await handle.result
    expect(result).toMatchObject({ epoch: 2, executor: second.signer.nodeId })
    expect(restarts(await events)).toEqual(['lease lapsed'])
    destroyAll(members)
  })

  it('hostile: replayed, forged and unsigned batches and a replayed lease do not keep a frozen executor alive', async () => {
    const { members } = await room([null, new HangingEngine(), 300], config)
    const [poster, hung, second] = members as [RoomMember, RoomMember, RoomMember]
    const m: RoomSigner = { signer: await fixedSigner(666), roomId: testRoomId }
    const handle = poster.market.submit(request)
    const events = collect(handle.chunks)
    await until(() => batchCount(poster, handle.id) > 0 && taskOf(poster, handle.id).has('lease'))
    const task = taskOf(poster, handle.id)
    const output = task.get('output') as Y.Array<unknown>
    const signedBatch = output.get(0) as { epoch: number; seq: number; text: string; sig: string }
    const oldLease = task.get('lease') as Record<string, unknown>
    expect((task.get('award') as { executor: string }).executor).toBe(hung.signer.nodeId)
    hung.market.destroy()
    let seq = 1
    const replay = setInterval(() => {
      if (statusIn(poster.doc, handle.id) !== 'running' || (task.get('award') as { epoch: number }).epoch !== 1) return
      // The dead executor's own signed batch again (a copy, so a new object), the next seq signed by Mallory, the next seq unsigned, its old lease again.
      output.push([{ ...signedBatch }, { epoch: 1, seq: seq + 1, text: 'INJECTED unsigned', sig: signedBatch.sig }])
      void sign('batch', { taskId: handle.id, epoch: 1, seq: seq++, text: 'INJECTED' }, m).then(({ taskId: _t, ...batch }) => output.push([batch]))
      void sign('lease', { taskId: handle.id, epoch: 1, executor: hung.signer.nodeId, until: Date.now() + 60_000 }, m).then((lease) => task.set('lease', lease))
      task.set('lease', { ...oldLease })
    }, 40)
    try {
      const result = await handle.result
      expect(result).toMatchObject({ epoch: 2, executor: second.signer.nodeId })
      expect(result.text).not.toContain('INJECTED')
      expect(restarts(await events)).toEqual(['lease lapsed'])
    } finally {
      clearInterval(replay)
      destroyAll(members)
    }
  })

  it('output batches keep a streaming executor alive with no renewal for far longer than liveMs', async () => {
    // Renewals only every 20 s: after the first, only the batches (one per word) say it is alive.
    await expectOneRun(new PacedEngine(30, 50), { ...config, renewMs: 20_000 })
  })

  it('renewals cover a long prefill that writes no batches', async () => {
    await expectOneRun(new PacedEngine(3, 10, 1_500), config)
  })

  it("the poster's own stall (its thread blocked for longer than liveMs) is not counted as the executor's silence", async () => {
    const streaming = new PacedEngine(30, 50)
    const { members } = await room([null, streaming, 300], config)
    const [poster, executor] = members as [RoomMember, RoomMember, RoomMember]
    const handle = poster.market.submit(request)
    const events = collect(handle.chunks)
    await until(() => batchCount(poster, handle.id) > 2)
    // Every node here shares this thread: a page as busy as a loaded machine makes it.
    const end = Date.now() + 1_000
    while (Date.now() < end);
    const result = await handle.result
    expect(result).toMatchObject({ epoch: 1, executor: executor.signer.nodeId })
    expect(restarts(await events)).toEqual([])
    destroyAll(members)
  })
})

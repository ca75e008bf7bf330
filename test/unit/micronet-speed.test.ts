import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { OnlineNet } from '../../src/micronets/learner'
import { createSpeedNet, initialSpeedNet, maxSpeedPeers, speedFeatureCount, speedFeatureNames, speedFeatures, SpeedPredictor, type SpeedQuery } from '../../src/micronets/speed'
import { mulberry32 } from '../../src/shared/hash'
import type { EngineInfo, ChatRequest } from '../../src/inference/types'
import { MarketNode } from '../../src/market/node'
import type { LivePeer, SpeedModel, Timers } from '../../src/market/types'
import { SimEngine } from './market-sim/engine'
import { fixedSigner } from './market-sim/keys'
import { Scheduler, type SimEvent } from './market-sim/scheduler'

const baseQuery: SpeedQuery = { promptTokens: 40, maxTokens: 64, prefillTokensPerS: 500, decodeTokensPerS: 20, queueLength: 0, visible: true, engineKind: 'wasm' }

function predictor(): SpeedPredictor {
  return new SpeedPredictor({ net: new OnlineNet('speed', initialSpeedNet(), { loss: 'mse', learningRate: 0.01, stepsPerSample: 4 }) })
}

/** A made-up room: peers that each take `factor` times the analytic estimate, with ±10 % noise. */
function world(seed: number) {
  const random = mulberry32(seed)
  const query = (): SpeedQuery => ({ ...baseQuery, promptTokens: 20 + Math.floor(random() * 500), maxTokens: 16 + Math.floor(random() * 300) })
  const analyticMs = (q: SpeedQuery) => (q.promptTokens / q.prefillTokensPerS + q.maxTokens / q.decodeTokensPerS) * 1000
  const observation = (factor: number) => {
    const q = query()
    const baseMs = analyticMs(q)
    return { query: q, baseMs, actualMs: baseMs * factor * Math.exp((random() - 0.5) * 0.2) }
  }
  return { query, analyticMs, observation }
}

describe('speed predictor', () => {
  it('scales every feature into [-1, 1], even for extreme or junk inputs', () => {
    expect(speedFeatureNames.length).toBe(speedFeatureCount)
    const extremes: number[] = [0, -5, Number.NaN, Number.POSITIVE_INFINITY, 1e12, 3]
    for (const value of extremes) {
      const features = speedFeatures({
        promptTokens: value,
        maxTokens: value,
        prefillTokensPerS: value,
        decodeTokensPerS: value,
        queueLength: value,
        visible: value > 1,
        engineKind: value > 1 ? 'webgpu' : 'none',
        history: { meanLogRatio: value, count: value },
      })
      expect(features.length).toBe(speedFeatureCount)
      for (const feature of features) {
        expect(Number.isFinite(feature)).toBe(true)
        expect(Math.abs(feature)).toBeLessThanOrEqual(1)
      }
    }
  })

  it('a new net predicts the estimate it is given, exactly', () => {
    const speed = new SpeedPredictor({ net: createSpeedNet(), peers: [{ peerId: 'known', meanLogRatio: 1.5, count: 40 }] })
    for (const baseMs of [1, 1234.5, 98_765]) {
      expect(speed.predictMs('known', baseQuery, baseMs)).toBe(baseMs)
      expect(speed.predictMs('stranger', { ...baseQuery, visible: false, engineKind: 'webgpu', queueLength: 3 }, baseMs)).toBe(baseMs)
    }
  })

  it('learns that one peer is three times slower than it says, and leaves the others near their estimate', () => {
    const { query, analyticMs, observation } = world(3)
    const speed = predictor()
    const heldOut = Array.from({ length: 40 }, (_, k) => ({ peer: k % 2 === 0 ? 'slow' : 'fast', ...observation(k % 2 === 0 ? 3 : 1) }))
    const heldOutMse = () => heldOut.reduce((sum, o) => sum + Math.log(speed.predictMs(o.peer, o.query, o.baseMs) / o.actualMs) ** 2, 0) / heldOut.length
    const before = heldOutMse()
    for (let n = 0; n < 25; n++) {
      for (const [peer, factor] of [
        ['slow', 3],
        ['fast', 1],
      ] as const) {
        const o = observation(factor)
        speed.observe(peer, o.query, o.baseMs, o.actualMs)
      }
    }
    expect(speed.net.samples).toBe(50)
    expect(heldOutMse()).toBeLessThan(before * 0.2)
    for (let k = 0; k < 10; k++) {
      const q = query()
      const truthMs = analyticMs(q)
      expect(Math.abs(speed.predictMs('slow', q, truthMs) / (3 * truthMs) - 1)).toBeLessThan(0.25)
      expect(Math.abs(speed.predictMs('fast', q, truthMs) / truthMs - 1)).toBeLessThan(0.25)
    }
    expect(speed.historyOf('slow')).toMatchObject({ count: 25 })
    expect(speed.historyOf('slow').meanLogRatio).toBeCloseTo(Math.log(3), 1)
  })

  it('ignores junk times, bounds its peer table, and restores from snapshots', () => {
    let observed = 0
    const speed = new SpeedPredictor({ net: createSpeedNet(), onObserve: () => observed++ })
    for (const [baseMs, actualMs] of [
      [0, 100],
      [100, 0],
      [100, -1],
      [Number.NaN, 100],
      [100, Number.POSITIVE_INFINITY],
    ] as const)
      speed.observe('junk', baseQuery, baseMs, actualMs)
    expect(observed).toBe(0)
    expect(speed.net.samples).toBe(0)
    expect(speed.peersSnapshot()).toEqual([])
    for (let k = 0; k < maxSpeedPeers + 10; k++) speed.observe(`peer-${k}`, baseQuery, 100, 200)
    expect(observed).toBe(maxSpeedPeers + 10)
    const table = speed.peersSnapshot()
    expect(table.length).toBe(maxSpeedPeers)
    expect(table.some((entry) => entry.peerId === 'peer-0')).toBe(false)
    const restored = new SpeedPredictor({ net: createSpeedNet(speed.net.snapshot()), peers: table })
    expect(restored.predictMs('peer-20', baseQuery, 100)).toBe(speed.predictMs('peer-20', baseQuery, 100))
    expect(restored.net.samples).toBe(speed.net.samples)
  })

  it('is a market SpeedModel as it stands', () => {
    const model: SpeedModel = predictor()
    expect(model.predictMs('peer', baseQuery, 10)).toBe(10)
  })
})

/** Says it decodes at `advertisedTokensPerS` but really runs at `realTokensPerS`. */
class MisreportingEngine extends SimEngine {
  constructor(
    timers: Timers,
    realTokensPerS: number,
    private readonly advertisedTokensPerS: number,
  ) {
    super(timers, realTokensPerS)
  }

  override info(): EngineInfo {
    return { ...super.info(), decodeTokensPerS: this.advertisedTokensPerS }
  }
}

/**
 * A poster and two executors that both advertise 100 tok/s; one really runs at 100, the other
 * at 10. Docs pass updates to each other at once; time is virtual. Posts `tasks` tasks one
 * after another and returns how many each executor ran.
 */
async function market(speedOf: (role: 'poster' | 'fast' | 'slow') => SpeedModel | undefined, tasks: number) {
  const sched = new Scheduler()
  const roles = ['poster', 'fast', 'slow'] as const
  const docs = roles.map(() => new Y.Doc())
  for (const doc of docs)
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      for (const other of docs) if (other !== doc && origin !== other) Y.applyUpdate(other, update, doc)
    })
  const members = await Promise.all(
    roles.map(async (role, index) => {
      const timers: Timers = {
        setTimeout: (callback, delayMs) => sched.at(sched.now + Math.max(0, Math.round(delayMs)), index, callback),
        clearTimeout: (handle) => sched.cancel(handle as SimEvent),
      }
      const engine = role === 'poster' ? null : new MisreportingEngine(timers, role === 'fast' ? 100 : 10, 100)
      return { role, index, timers, engine, signer: await fixedSigner(300 + index), market: null as MarketNode | null }
    }),
  )
  const errors: unknown[] = []
  const livePeers = (self: string): LivePeer[] =>
    members.flatMap((member) =>
      member.signer.nodeId === self || !member.engine
        ? []
        : [
            {
              nodeId: member.signer.nodeId,
              engine: { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 1000, decodeTokensPerS: 100 },
              queueLength: member.market?.queueLength() ?? 0,
              visible: true,
              linkDelayMs: 5,
            },
          ],
    )
  const markets = members.map((member) => {
    const speed = speedOf(member.role)
    let count = 0
    member.market = new MarketNode({
      doc: docs[member.index] as Y.Doc,
      signer: member.signer,
      roomId: 'speed-room',
      engine: member.engine,
      livePeers: () => livePeers(member.signer.nodeId),
      clock: () => sched.now,
      timers: member.timers,
      config: { bidWindowMs: 30, leaseMs: 3_000, outputBatchMs: 20, noBidTimeoutMs: 60_000, retainMs: 1_000 },
      newId: () => `task-${member.index}-${count++}`,
      onError: (error) => errors.push(error),
      ...(speed ? { speed } : {}),
    })
    return member.market
  })
  const settle = async () => {
    do await new Promise<void>((resolve) => setImmediate(resolve))
    while (markets.some((node) => node.pendingWork > 0))
  }
  const [poster] = markets as [MarketNode]
  const ran = { fast: 0, slow: 0 }
  const request: ChatRequest = { messages: [{ role: 'user', content: 'Name a prime.' }], max_tokens: 16 }
  for (let k = 0; k < tasks; k++) {
    const handle = poster.submit({ ...request, messages: [{ role: 'user', content: `Name prime number ${k}.` }] })
    let executor: string | null = null
    let settled = false
    handle.result
      .then((result) => (executor = result.executor))
      .catch((error: unknown) => errors.push(error))
      .finally(() => (settled = true))
    await settle()
    while (!settled) {
      const batch = sched.nextBatch()
      if (batch.length === 0) break
      for (const event of batch) event.run()
      await settle()
    }
    const winner = members.find((member) => member.signer.nodeId === executor)
    if (winner?.role === 'fast' || winner?.role === 'slow') ran[winner.role]++
  }
  for (const node of markets) node.destroy()
  const idOf = (role: 'fast' | 'slow') => members.find((member) => member.role === role)?.signer.nodeId ?? ''
  return { ran, errors, ids: { fast: idOf('fast'), slow: idOf('slow') } }
}

describe('speed predictor in the market', () => {
  const tasks = 30

  it('without it, peers that advertise the same speed split the tasks', async () => {
    const { ran, errors } = await market(() => undefined, tasks)
    expect(errors).toEqual([])
    expect(ran.fast + ran.slow).toBe(tasks)
    expect(ran.slow).toBeGreaterThanOrEqual(tasks / 4)
  })

  it('with it, the poster learns which peer is really fast and awards to it', async () => {
    const speed = new SpeedPredictor({ net: createSpeedNet() })
    const { ran, errors, ids } = await market((role) => (role === 'poster' ? speed : undefined), tasks)
    expect(errors).toEqual([])
    expect(ran.fast + ran.slow).toBe(tasks)
    expect(ran.fast).toBeGreaterThanOrEqual(tasks - 4)
    // It really takes about 10× its claim; the fast one about what it claims.
    expect(speed.historyOf(ids.slow).meanLogRatio).toBeGreaterThan(Math.log(5))
    expect(Math.abs(speed.historyOf(ids.fast).meanLogRatio)).toBeLessThan(Math.log(1.5))
  })

  it('a slow executor with it learns to bid what it really takes, and the poster picks the fast one', async () => {
    const { ran, errors } = await market((role) => (role === 'slow' ? new SpeedPredictor({ net: createSpeedNet() }) : undefined), tasks)
    expect(errors).toEqual([])
    expect(ran.fast).toBeGreaterThanOrEqual(tasks - 6)
  })

  it('a predictor that throws is reported and the market goes on as without it', async () => {
    const broken: SpeedModel = {
      predictMs: () => {
        throw new RangeError('broken predictor')
      },
      observe: () => {
        throw new RangeError('broken observer')
      },
    }
    const { ran, errors } = await market(() => broken, 4)
    expect(ran.fast + ran.slow).toBe(4)
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((error) => error instanceof RangeError)).toBe(true)
  })
})

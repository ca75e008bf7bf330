import { describe, expect, test, vi } from 'vitest'
import * as Y from 'yjs'
import { generateRouterSet } from '../../src/micronets/data/router-rules'
import { clippedWeights, federatedAverage, fingerprintOf, maxCountedSamples } from '../../src/micronets/federated'
import { OnlineNet, type OnlineNetSnapshot } from '../../src/micronets/learner'
import { cloneMlp, createMlp, shapeOf, type Mlp } from '../../src/micronets/mlp'
import { initialRouterNet, routerShape } from '../../src/micronets/router'
import { exampleSamples, routerSpec } from '../../src/micronets/router-training'
import { serializeMlp } from '../../src/micronets/serialize'
import { lossOf } from '../../src/micronets/train'
import { roomIdOf } from '../../src/shared/room-id'
import { generateKeyPair, signerFromKeyPair, signingPayload, type Signer } from '../../src/shared/sign'
import { LearnedNet } from '../../src/swarm/learning/learned-net'
import { SharedNets, type SharedNetsOptions } from '../../src/swarm/learning/nets'

const spec = {
  inputs: 3,
  layers: [
    { units: 2, activation: 'tanh' as const },
    { units: 1, activation: 'sigmoid' as const },
  ],
}

/** Docs that pass every update to each other at once, like a room with a perfect network. */
function meshed(count: number): Y.Doc[] {
  const docs = Array.from({ length: count }, () => new Y.Doc())
  for (const doc of docs) {
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      for (const other of docs) if (other !== doc && origin !== other) Y.applyUpdate(other, update, doc)
    })
  }
  return docs
}

const newSigner = async (): Promise<Signer> => signerFromKeyPair(await generateKeyPair(false))
const roomId = await roomIdOf('lab', 'secret')
/** Put-backs run at once in tests (the app waits a random moment, so that one reader does it). */
const fast: SharedNetsOptions = { restoreDelayMs: 0 }
const report = (error: unknown): void => {
  throw error
}

async function settle(nets: SharedNets[]): Promise<void> {
  for (let round = 0; round < 3; round++) await Promise.all(nets.map((net) => net.settled()))
}

describe('federated averaging', () => {
  test('each weight is the sample-weighted mean (within the clip), whatever the order of the contributions', () => {
    const a = createMlp(spec, 1)
    const b = createMlp(spec, 2)
    const merged = federatedAverage([
      { author: 'b', samples: 3, net: b },
      { author: 'a', samples: 2, net: a },
    ])
    const reversed = federatedAverage([
      { author: 'a', samples: 2, net: a },
      { author: 'b', samples: 3, net: b },
    ])
    expect(merged).not.toBeNull()
    if (!merged || !reversed) return
    expect(fingerprintOf(merged)).toBe(fingerprintOf(reversed))
    merged.layers.forEach((layer, l) => {
      layer.weights.forEach((value, i) => expect(value).toBeCloseTo(0.4 * (a.layers[l]?.weights[i] ?? 0) + 0.6 * (b.layers[l]?.weights[i] ?? 0), 6))
    })
  })

  test('contributions with no samples or of another shape are left out', () => {
    const a = createMlp(spec, 1)
    const other = createMlp({ inputs: 4, layers: [{ units: 1, activation: 'sigmoid' }] }, 2)
    expect(federatedAverage([])).toBeNull()
    expect(federatedAverage([{ author: 'a', samples: 0, net: a }])).toBeNull()
    const merged = federatedAverage([
      { author: 'a', samples: 2, net: a },
      { author: 'b', samples: 5, net: other },
    ])
    expect(merged && fingerprintOf(merged)).toBe(fingerprintOf(a))
  })
})

describe('online learning', () => {
  test('learning one sample at a time lowers the loss on the samples seen, and a snapshot restores it', () => {
    const samples = exampleSamples(generateRouterSet().slice(0, 120))
    const online = new OnlineNet('router', createMlp(routerSpec, 4), { loss: 'bce', learningRate: 0.01 })
    const before = lossOf(online.net, samples)
    for (const sample of samples) online.learn(sample, 0)
    expect(lossOf(online.net, samples)).toBeLessThan(before * 0.8)
    expect(online.samples).toBe(120)
    expect(online.history.length).toBeGreaterThan(0)
    const restored = new OnlineNet('router', initialRouterNet(), { loss: 'bce' }, online.snapshot())
    expect(fingerprintOf(restored.net)).toBe(fingerprintOf(online.net))
    expect(restored.samples).toBe(120)
  })

  test('a snapshot of another shape is ignored: the net starts from its initial weights', () => {
    const initial = createMlp(spec, 1)
    const stale = new OnlineNet('x', createMlp({ inputs: 2, layers: [{ units: 1, activation: 'sigmoid' }] }, 3), { loss: 'bce' })
    const online = new OnlineNet('x', initial, { loss: 'bce' }, stale.snapshot())
    expect(fingerprintOf(online.net)).toBe(fingerprintOf(initial))
  })
})

describe('the room pools what its nodes learned (doc map nets)', () => {
  const labelled = generateRouterSet()
  // Three nodes, three different kinds of local data.
  const localData = [
    exampleSamples(labelled.filter((example) => example.kind.includes('code')).slice(0, 12)),
    exampleSamples(labelled.filter((example) => example.label === 1).slice(0, 20)),
    exampleSamples(labelled.filter((example) => example.label === 0).slice(0, 8)),
  ]

  async function room(count: number): Promise<{ docs: Y.Doc[]; signers: Signer[]; shared: SharedNets[]; learned: LearnedNet[] }> {
    const docs = meshed(count)
    const signers = await Promise.all(docs.map(() => newSigner()))
    const shared = docs.map((doc, index) => new SharedNets(doc, signers[index] as Signer, roomId, { router: routerShape }, report, fast))
    const learned = shared.map((nets) => new LearnedNet({ online: new OnlineNet('router', initialRouterNet(), { loss: 'bce' }), shared: nets, persistence: null, publishDelayMs: 10_000, report }))
    return { docs, signers, shared, learned }
  }

  test('three nodes with different local data converge to the same weights: the sample-weighted average', async () => {
    const { shared, learned } = await room(3)
    const initial = fingerprintOf(initialRouterNet())
    const published: { samples: number; net: Mlp }[] = []
    for (const [index, node] of learned.entries()) {
      for (const sample of localData[index] ?? []) node.learn(sample)
      published.push({ samples: node.online.samples, net: cloneMlp(node.online.net) })
      await node.flush()
      await settle(shared)
    }
    const fingerprints = learned.map((node) => node.state().fingerprint)
    expect(new Set(fingerprints).size).toBe(1)
    expect(fingerprints[0]).not.toBe(initial)
    const state = learned[0]?.state()
    expect(state?.contributors.map((contributor) => contributor.samples).sort((a, b) => a - b)).toEqual([8, 12, 20])
    expect(state?.rejected).toBe(0)
    // Every node adopted the average of what was published, not its own weights.
    const merged = shared[0]?.merged('router').merged
    expect(merged && fingerprintOf(merged)).toBe(fingerprints[0])
    for (const node of learned) node.stop()
  })

  test('NaN, huge, wrong-shape, misfiled and badly signed contributions are ignored and counted', async () => {
    const { docs, shared, learned } = await room(3)
    for (const [index, node] of learned.entries()) {
      for (const sample of localData[index] ?? []) node.learn(sample)
      await node.flush()
    }
    await settle(shared)
    const agreed = learned[0]?.state().fingerprint
    const mallory = await newSigner()
    const doc = docs[0] as Y.Doc
    const write = async (
      mutate: (weights: ReturnType<typeof serializeMlp>) => void,
      overrides: Record<string, unknown> = {},
      signer: Signer = mallory,
      key = `router/${mallory.nodeId}`,
    ): Promise<void> => {
      const weights = serializeMlp(initialRouterNet())
      mutate(weights)
      const unsigned = { v: 2, room: roomId, net: 'router', shape: routerShape, author: signer.nodeId, publicKey: signer.publicKey, samples: 1_000_000, at: Date.now(), weights, ...overrides }
      const sig = await signer.sign(
        signingPayload('edgeswarm/nets/v2', [unsigned.room, unsigned.net, unsigned.shape, unsigned.author, unsigned.publicKey, unsigned.samples, unsigned.at, unsigned.weights]),
      )
      doc.getMap('nets').set(key, { ...unsigned, sig })
      await settle(shared)
    }
    const firstLayer = (weights: ReturnType<typeof serializeMlp>): number[] => weights.layers[0]?.weights ?? []
    await write((weights) => (firstLayer(weights)[3] = Number.NaN))
    await write((weights) => (firstLayer(weights)[0] = 1e12))
    await write((weights) => weights.layers.pop(), { shape: shapeOf(createMlp({ ...routerSpec, layers: routerSpec.layers.slice(0, -1) })) })
    await write(() => undefined, {}, mallory, `router/${'0'.repeat(20)}`)
    const signed = serializeMlp(initialRouterNet())
    doc.getMap('nets').set(`router/${mallory.nodeId}`, {
      v: 2,
      room: roomId,
      net: 'router',
      shape: routerShape,
      author: mallory.nodeId,
      publicKey: mallory.publicKey,
      samples: 5,
      at: Date.now(),
      weights: signed,
      sig: 'A'.repeat(86),
    })
    await settle(shared)
    for (const node of learned) {
      const state = node.state()
      expect(state.fingerprint).toBe(agreed)
      expect(state.contributors).toHaveLength(3)
      expect(state.rejected).toBe(5)
    }
    // NaN survives the doc's encoding: it reached the other nodes and was refused there.
    expect(shared[2]?.rejections().some((rejection) => rejection.reason.includes('NaN'))).toBe(true)
    for (const node of learned) node.stop()
  })

  test('learning a closed tab had not published yet is kept across the reload and published, not overwritten', async () => {
    const { docs, shared, learned } = await room(2)
    const [a, b] = learned as [LearnedNet, LearnedNet]
    for (const sample of localData[0] ?? []) a.learn(sample)
    await a.flush()
    await settle(shared)
    // B learns, saves (unpublished), and its tab closes before the publish delay.
    const saves: boolean[] = []
    const store: { kept?: OnlineNetSnapshot } = {}
    const persistence = {
      save: (online: OnlineNet, unpublished: boolean): Promise<void> => {
        saves.push(unpublished)
        store.kept = online.snapshot()
        return Promise.resolve()
      },
    }
    const bPersisted = new LearnedNet({
      online: new OnlineNet('router', initialRouterNet(), { loss: 'bce' }, b.online.snapshot()),
      shared: shared[1] as SharedNets,
      persistence,
      publishDelayMs: 60_000,
      report,
    })
    for (const sample of localData[1] ?? []) bPersisted.learn(sample)
    bPersisted.stop()
    b.stop()
    await Promise.resolve()
    expect(saves.at(-1)).toBe(true)
    const kept = store.kept
    if (!kept) throw new Error('nothing saved')
    const mine = fingerprintOf(kept.net)
    // Back: the restored learning is not replaced by the room's average, and goes out.
    const back = new LearnedNet({
      online: new OnlineNet('router', initialRouterNet(), { loss: 'bce' }, kept),
      shared: new SharedNets(docs[1] as Y.Doc, await newSigner(), roomId, { router: routerShape }, report, fast),
      persistence: null,
      publishDelayMs: 5,
      unpublished: true,
      report,
    })
    expect(back.state().fingerprint).toBe(mine)
    // Published after its 5 ms delay, signed, verified on A: polled, since the machine may be slow.
    await vi.waitFor(
      () =>
        expect(
          a
            .state()
            .contributors.map((contributor) => contributor.samples)
            .sort((x, y) => x - y),
        ).toEqual([12, 20]),
      { timeout: 5_000 },
    )
    back.stop()
    a.stop()
  })

  test('learning not yet published is not overwritten by the room average', async () => {
    const { shared, learned } = await room(2)
    const [a, b] = learned as [LearnedNet, LearnedNet]
    for (const sample of localData[0] ?? []) a.learn(sample)
    await a.flush()
    for (const sample of localData[1] ?? []) b.learn(sample)
    const mine = fingerprintOf(b.online.net)
    await settle(shared)
    expect(b.state().fingerprint).toBe(mine)
    await b.flush()
    await settle(shared)
    expect(a.state().fingerprint).toBe(b.state().fingerprint)
    a.stop()
    b.stop()
  })
})

/** Every coordinate of a net, in order (weights then bias, layer by layer). */
function coordinates(net: Mlp): number[] {
  return net.layers.flatMap((layer) => [...layer.weights, ...layer.bias])
}

/** A net of `like`'s shape with every value set by `value(honest values at that coordinate)`. */
function forgedNet(like: Mlp, honest: Mlp[], value: (values: number[]) => number): Mlp {
  const forged = cloneMlp(like)
  let index = 0
  const columns = honest.map(coordinates)
  for (const layer of forged.layers) {
    for (const values of [layer.weights, layer.bias]) {
      for (let i = 0; i < values.length; i++, index++) values[i] = value(columns.map((column) => column[index] ?? 0))
    }
  }
  return forged
}

describe('learning that one member cannot capture', () => {
  const honest = [1, 2, 3, 4].map((seed) => createMlp(spec, seed))
  const honestContributions = honest.map((net, index) => ({ author: `honest-${index}`, samples: (index + 1) * 10, net }))
  const honestAverage = federatedAverage(honestContributions)

  test('a contribution claiming 1e9 samples stays within the honest range at every coordinate, and counts as 2× the median at most', () => {
    if (!honestAverage) throw new Error('no average')
    const columns = honest.map(coordinates)
    const range = coordinates(honestAverage).map((_, i) => {
      const values = columns.map((column) => column[i] ?? 0)
      return { min: Math.min(...values), max: Math.max(...values) }
    })
    // The stated bound: with f = 1 of n = 5, every merged coordinate stays within [min, max] of
    // the honest values there, so it moves from the honest average by less than their spread.
    const attacks: [string, Mlp][] = [
      ['at the weight limit', forgedNet(honest[0] as Mlp, honest, () => 1_000)],
      ['just past the honest maximum', forgedNet(honest[0] as Mlp, honest, (values) => Math.max(...values) + 0.5)],
      ['at the honest maximum', forgedNet(honest[0] as Mlp, honest, (values) => Math.max(...values))],
    ]
    for (const [what, net] of attacks) {
      const merged = federatedAverage([...honestContributions, { author: 'mallory', samples: 1e9, net }])
      if (!merged) throw new Error('no average')
      coordinates(merged).forEach((value, i) => {
        const bound = range[i] as { min: number; max: number }
        expect(value, `${what}, coordinate ${i}`).toBeGreaterThanOrEqual(bound.min - 1e-6)
        expect(value, `${what}, coordinate ${i}`).toBeLessThanOrEqual(bound.max + 1e-6)
      })
    }
    // The plain sample-weighted mean it replaces would have been Mallory's net, give or take 1e-7.
    expect(clippedWeights([10, 20, 30, 40, 1e9])).toEqual([10, 20, 30, 40, 60])
    expect(clippedWeights([10, 1e9])).toEqual([10, 20])
    expect(clippedWeights([1e6, 1e6, 1e6])).toEqual([maxCountedSamples, maxCountedSamples, maxCountedSamples])
  })

  test('with three contributions, one claiming 1e9 samples moves the average at most half the way to it', () => {
    // n = 3: nothing is trimmed (f < 1 tolerates no one); the clip alone holds Mallory to 2× the
    // lower median (10): 20 of the 40 samples counted.
    const [a, b] = honest as [Mlp, Mlp]
    const target = forgedNet(a, [a, b], () => 1)
    const merged = federatedAverage([
      { author: 'a', samples: 10, net: a },
      { author: 'b', samples: 10, net: b },
      { author: 'mallory', samples: 1e9, net: target },
    ])
    const fair = federatedAverage([
      { author: 'a', samples: 10, net: a },
      { author: 'b', samples: 10, net: b },
    ])
    if (!merged || !fair) throw new Error('no average')
    const fairValues = coordinates(fair)
    coordinates(merged).forEach((value, i) => {
      const towards = (value - (fairValues[i] ?? 0)) / (1 - (fairValues[i] ?? 0))
      expect(towards).toBeLessThanOrEqual(0.5 + 1e-6)
    })
  })

  test('the robust average is the same bit for bit whatever the order the contributions arrive in', () => {
    const all = [...honestContributions, { author: 'mallory', samples: 1e9, net: forgedNet(honest[0] as Mlp, honest, () => 3) }]
    const forward = federatedAverage(all)
    const backward = federatedAverage([...all].reverse())
    expect(forward && fingerprintOf(forward)).toBe(backward && fingerprintOf(backward))
  })

  async function netsRoom(count: number, options: SharedNetsOptions = fast): Promise<{ docs: Y.Doc[]; signers: Signer[]; shared: SharedNets[] }> {
    const docs = meshed(count + 1)
    const signers = await Promise.all(docs.map(() => newSigner()))
    // The last doc is Mallory's: a member with no reader of its own, like a stock client.
    const shared = docs.slice(0, count).map((doc, index) => new SharedNets(doc, signers[index] as Signer, roomId, { router: routerShape }, report, options))
    return { docs, signers, shared }
  }

  async function signedContribution(signer: Signer, at: number, overrides: Record<string, unknown> = {}, room = roomId): Promise<Record<string, unknown>> {
    const unsigned = { room, net: 'router', shape: routerShape, author: signer.nodeId, publicKey: signer.publicKey, samples: 10, at, weights: serializeMlp(initialRouterNet()), ...overrides }
    const sig = await signer.sign(
      signingPayload('edgeswarm/nets/v2', [unsigned.room, unsigned.net, unsigned.shape, unsigned.author, unsigned.publicKey, unsigned.samples, unsigned.at, unsigned.weights]),
    )
    return { v: 2, ...unsigned, sig }
  }

  test('an invalid write never removes a verified contribution: it stays in the average and goes back into the map', async () => {
    const { docs, signers, shared } = await netsRoom(3)
    await Promise.all(shared.map((nets, index) => nets.publish('router', createMlp(routerSpec, index + 1), 10 * (index + 1))))
    await settle(shared)
    const agreed = shared[0]?.merged('router').fingerprint
    const victim = signers[1] as Signer
    const key = `router/${victim.nodeId}`
    const original = structuredClone(docs[0]?.getMap('nets').get(key))
    const mallory = docs[3]?.getMap('nets') as Y.Map<unknown>
    const withNaN = serializeMlp(initialRouterNet())
    withNaN.layers[0]?.weights.splice(0, 1, Number.NaN)
    const writes: [string, () => unknown][] = [
      ['an unsigned change', () => ({ ...(original as object), samples: 1e9 })],
      ['a bad signature', () => ({ ...(original as object), sig: 'A'.repeat(86) })],
      ['NaN weights', () => ({ ...(original as object), weights: withNaN })],
      ['junk', () => 'junk'],
      ['a copy from another room', async () => signedContribution(victim, Date.now(), {}, await roomIdOf('lab', 'elsewhere'))],
    ]
    for (const [what, value] of writes) {
      mallory.set(key, await value())
      await settle(shared)
      for (const nets of shared) {
        expect(nets.merged('router').contributors, what).toHaveLength(3)
        expect(nets.merged('router').fingerprint, what).toBe(agreed)
      }
      expect(mallory.get(key), what).toEqual(original)
    }
    mallory.delete(key)
    await settle(shared)
    expect(shared[2]?.merged('router').contributors).toHaveLength(3)
    expect(mallory.get(key)).toEqual(original)
    for (const nets of shared) nets.stop()
  })

  test('a replayed older contribution of an author is refused; the newer one stays', async () => {
    let now = 1_000_000
    const { docs, shared } = await netsRoom(2, { ...fast, clock: () => now })
    const [a] = shared as [SharedNets, SharedNets]
    await a.publish('router', createMlp(routerSpec, 1), 10)
    await settle(shared)
    const key = `router/${a.merged('router').contributors[0]?.author ?? ''}`
    const old = structuredClone(docs[2]?.getMap('nets').get(key))
    now = 2_000_000
    await a.publish('router', createMlp(routerSpec, 2), 20)
    await settle(shared)
    docs[2]?.getMap('nets').set(key, old)
    await settle(shared)
    expect(shared[1]?.merged('router').contributors).toMatchObject([{ samples: 20, at: 2_000_000 }])
    expect(shared[1]?.rejections().at(-1)?.reason).toContain('older')
    expect(docs[2]?.getMap('nets').get(key)).toMatchObject({ samples: 20 })
    for (const nets of shared) nets.stop()
  })

  test('contributions age out, and one dated ahead of the clock is refused', async () => {
    let now = 10_000_000
    const { docs, signers, shared } = await netsRoom(2, { ...fast, clock: () => now, maxAgeMs: 60_000 })
    const [a, b] = shared as [SharedNets, SharedNets]
    await a.publish('router', createMlp(routerSpec, 1), 10)
    now += 30_000
    await b.publish('router', createMlp(routerSpec, 2), 10)
    await settle(shared)
    expect(a.merged('router').contributors).toHaveLength(2)
    now += 40_000
    expect(a.merged('router').contributors.map((contributor) => contributor.author)).toEqual([signers[1]?.nodeId])
    expect(b.merged('router').fingerprint).toBe(fingerprintOf(createMlp(routerSpec, 2)))
    now += 40_000
    expect(a.merged('router').merged).toBeNull()
    const mallory = signers[2] as Signer
    docs[2]?.getMap('nets').set(`router/${mallory.nodeId}`, await signedContribution(mallory, now + 10 * 60_000))
    await settle(shared)
    expect(a.merged('router').contributors).toHaveLength(0)
    expect(a.rejections().at(-1)?.reason).toContain('ahead')
    for (const nets of shared) nets.stop()
  })
})

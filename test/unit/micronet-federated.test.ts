import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { generateRouterSet } from '../../src/micronets/data/router-rules'
import { federatedAverage, fingerprintOf } from '../../src/micronets/federated'
import { OnlineNet, type OnlineNetSnapshot } from '../../src/micronets/learner'
import { cloneMlp, createMlp, shapeOf, type Mlp } from '../../src/micronets/mlp'
import { initialRouterNet, routerShape } from '../../src/micronets/router'
import { exampleSamples, routerSpec } from '../../src/micronets/router-training'
import { serializeMlp } from '../../src/micronets/serialize'
import { lossOf } from '../../src/micronets/train'
import { generateKeyPair, signerFromKeyPair, signingPayload, type Signer } from '../../src/shared/sign'
import { LearnedNet } from '../../src/swarm/learned-net'
import { SharedNets } from '../../src/swarm/nets'

const spec = { inputs: 3, layers: [{ units: 2, activation: 'tanh' as const }, { units: 1, activation: 'sigmoid' as const }] }

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
const report = (error: unknown): void => {
  throw error
}

async function settle(nets: SharedNets[]): Promise<void> {
  for (let round = 0; round < 3; round++) await Promise.all(nets.map((net) => net.settled()))
}

describe('federated averaging', () => {
  test('each weight is the sample-weighted mean, whatever the order of the contributions', () => {
    const a = createMlp(spec, 1)
    const b = createMlp(spec, 2)
    const merged = federatedAverage([
      { author: 'b', samples: 3, net: b },
      { author: 'a', samples: 1, net: a },
    ])
    const reversed = federatedAverage([
      { author: 'a', samples: 1, net: a },
      { author: 'b', samples: 3, net: b },
    ])
    expect(merged).not.toBeNull()
    if (!merged || !reversed) return
    expect(fingerprintOf(merged)).toBe(fingerprintOf(reversed))
    merged.layers.forEach((layer, l) => {
      layer.weights.forEach((value, i) => expect(value).toBeCloseTo(0.25 * (a.layers[l]?.weights[i] ?? 0) + 0.75 * (b.layers[l]?.weights[i] ?? 0), 6))
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
    const shared = docs.map((doc, index) => new SharedNets(doc, signers[index] as Signer, { router: routerShape }, report))
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
    const write = async (mutate: (weights: ReturnType<typeof serializeMlp>) => void, overrides: Record<string, unknown> = {}, signer: Signer = mallory, key = `router/${mallory.nodeId}`): Promise<void> => {
      const weights = serializeMlp(initialRouterNet())
      mutate(weights)
      const unsigned = { v: 1, net: 'router', shape: routerShape, author: signer.nodeId, publicKey: signer.publicKey, samples: 1_000_000, at: 1, weights, ...overrides }
      const sig = await signer.sign(signingPayload('edgeswarm/nets/v1', [unsigned.v, unsigned.net, unsigned.shape, unsigned.author, unsigned.publicKey, unsigned.samples, unsigned.at, unsigned.weights]))
      doc.getMap('nets').set(key, { ...unsigned, sig })
      await settle(shared)
    }
    const firstLayer = (weights: ReturnType<typeof serializeMlp>): number[] => weights.layers[0]?.weights ?? []
    await write((weights) => (firstLayer(weights)[3] = Number.NaN))
    await write((weights) => (firstLayer(weights)[0] = 1e12))
    await write((weights) => weights.layers.pop(), { shape: shapeOf(createMlp({ ...routerSpec, layers: routerSpec.layers.slice(0, -1) })) })
    await write(() => undefined, {}, mallory, `router/${'0'.repeat(20)}`)
    const signed = serializeMlp(initialRouterNet())
    doc.getMap('nets').set(`router/${mallory.nodeId}`, { v: 1, net: 'router', shape: routerShape, author: mallory.nodeId, publicKey: mallory.publicKey, samples: 5, at: 1, weights: signed, sig: 'A'.repeat(86) })
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
    const bPersisted = new LearnedNet({ online: new OnlineNet('router', initialRouterNet(), { loss: 'bce' }, b.online.snapshot()), shared: shared[1] as SharedNets, persistence, publishDelayMs: 60_000, report })
    for (const sample of localData[1] ?? []) bPersisted.learn(sample)
    bPersisted.stop()
    b.stop()
    await Promise.resolve()
    expect(saves.at(-1)).toBe(true)
    const kept = store.kept
    if (!kept) throw new Error('nothing saved')
    const mine = fingerprintOf(kept.net)
    // Back: the restored learning is not replaced by the room's average, and goes out.
    const back = new LearnedNet({ online: new OnlineNet('router', initialRouterNet(), { loss: 'bce' }, kept), shared: new SharedNets(docs[1] as Y.Doc, await newSigner(), { router: routerShape }, report), persistence: null, publishDelayMs: 5, unpublished: true, report })
    expect(back.state().fingerprint).toBe(mine)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await settle(shared)
    expect(a.state().contributors.map((contributor) => contributor.samples).sort((x, y) => x - y)).toEqual([12, 20])
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

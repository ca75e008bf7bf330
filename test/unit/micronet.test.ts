import { describe, expect, test } from 'vitest'
import { generateRouterSet } from '../../src/micronets/data/router-rules'
import { routerFeatureNames } from '../../src/micronets/features'
import { createMlp, forward, forwardBatch, shapeOf } from '../../src/micronets/mlp'
import { defaultCostQuality, initialRouterNet, MicronetRouter, inlineScorer, routeFor } from '../../src/micronets/router'
import { accuracy, exampleRequest, exampleSamples, netAccuracy, routerSpec, splitHeldOut, trainRouter } from '../../src/micronets/router-training'
import { deserializeMlp, serializeMlp } from '../../src/micronets/serialize'
import { AdamTrainer, lossOf, train } from '../../src/micronets/train'
import { ValidationError } from '../../src/shared/errors'

const examples = generateRouterSet()
const { training, heldOut } = splitHeldOut(examples)

describe('micro-net training', () => {
  test('training lowers the loss on the labelled set', () => {
    const samples = exampleSamples(examples)
    const net = createMlp(routerSpec, 3)
    const before = lossOf(net, samples)
    const losses = train(net, samples, { epochs: 60, batchSize: 16, learningRate: 0.01, seed: 3 })
    const after = lossOf(net, samples)
    expect(after).toBeLessThan(before * 0.6)
    expect(losses.at(-1) ?? Infinity).toBeLessThan(losses[0] ?? 0)
  })

  test('Adam with squared error fits a regression target through a tanh layer', () => {
    const net = createMlp(
      {
        inputs: 3,
        layers: [
          { units: 4, activation: 'tanh' },
          { units: 1, activation: 'linear' },
        ],
      },
      9,
    )
    const sample = { input: [0.3, -0.7, 0.2], target: [0.5] }
    const before = lossOf(net, [sample], 'mse')
    const trainer = new AdamTrainer(net, { loss: 'mse', learningRate: 0.001 })
    for (let step = 0; step < 50; step++) trainer.step([sample])
    expect(lossOf(net, [sample], 'mse')).toBeLessThan(before)
    expect(trainer.steps).toBe(50)
  })

  test('the router beats a length-only rule on the held-out part', () => {
    const { net } = trainRouter(training)
    const trainingSamples = exampleSamples(training)
    const heldOutSamples = exampleSamples(heldOut)
    const lengthIndex = routerFeatureNames.indexOf('promptLength')
    // The best length rule the training part allows: a threshold and a direction, fitted there.
    let bestRule = (input: ArrayLike<number>): number => ((input[lengthIndex] ?? 0) < 0 ? 1 : 0)
    let bestAccuracy = 0
    for (let step = 0; step <= 100; step++) {
      for (const shorterIsEasy of [true, false]) {
        const rule = (input: ArrayLike<number>): number => ((input[lengthIndex] ?? 0) < step / 100 === shorterIsEasy ? 1 : 0)
        const score = accuracy(trainingSamples, rule)
        if (score > bestAccuracy) [bestRule, bestAccuracy] = [rule, score]
      }
    }
    const router = netAccuracy(net, heldOutSamples)
    const lengthOnly = accuracy(heldOutSamples, bestRule)
    console.log(`held-out accuracy: router ${router.toFixed(3)}, length-only rule ${lengthOnly.toFixed(3)} (${heldOut.length} examples)`)
    expect(router).toBeGreaterThan(lengthOnly + 0.05)
    expect(router).toBeGreaterThan(0.8)
  })

  test('the committed initial router routes a greeting locally and a proof away', async () => {
    const router = new MicronetRouter(inlineScorer(initialRouterNet()))
    const hi = await router.decide({ messages: [{ role: 'user', content: 'hi' }] })
    const proof = await router.decide({ messages: [{ role: 'user', content: 'Give a rigorous proof that the square root of 2 is irrational.' }] })
    expect(hi.route).toBe('local')
    expect(proof.route).not.toBe('local')
    expect(proof.confidence).toBeGreaterThan(0.5)
    expect(exampleRequest({ prompt: 'x', history: 2, thinking: false, kind: 'k', difficulty: 0, label: 1 }).messages).toHaveLength(3)
  })

  test('the cost–quality setting moves the bar: more quality, fewer local routes', () => {
    expect(routeFor(0.5, 0).route).toBe('local')
    expect(routeFor(0.5, 1).route).not.toBe('local')
    expect(routeFor(0.05, 0.5).route).toBe('relay')
    expect(routeFor(0.4, 0.5).route).toBe('swarm')
    expect(routeFor(0.5, Number.NaN)).toEqual(routeFor(0.5, defaultCostQuality))
  })
})

describe('serialize', () => {
  const net = createMlp(
    {
      inputs: 4,
      layers: [
        { units: 5, activation: 'relu' },
        { units: 2, activation: 'sigmoid' },
      ],
    },
    4,
  )

  test('round trip through JSON keeps every weight exactly', () => {
    const copy = deserializeMlp(JSON.parse(JSON.stringify(serializeMlp(net))), shapeOf(net))
    expect(shapeOf(copy)).toBe('4-5relu-2sigmoid')
    copy.layers.forEach((layer, index) => {
      expect(layer.weights).toEqual(net.layers[index]?.weights)
      expect(layer.bias).toEqual(net.layers[index]?.bias)
    })
    expect(forward(copy, [1, 2, 3, 4])).toEqual(forward(net, [1, 2, 3, 4]))
    expect(forwardBatch(copy, Float32Array.of(1, 2, 3, 4, 0, 0, 0, 0), 2).subarray(0, 2)).toEqual(forward(net, [1, 2, 3, 4]))
  })

  test('NaN, huge values, wrong lengths, wrong shapes and junk are refused', () => {
    const data = serializeMlp(net)
    const withValue = (value: number): unknown => ({ ...data, layers: [{ ...data.layers[0], weights: [value, ...(data.layers[0]?.weights.slice(1) ?? [])] }, data.layers[1]] })
    expect(() => deserializeMlp(withValue(Number.NaN))).toThrow(ValidationError)
    expect(() => deserializeMlp(withValue(1e9))).toThrow(/beyond/)
    expect(() => deserializeMlp({ ...data, inputs: 3 })).toThrow(/values where the shape needs/)
    expect(() => deserializeMlp(data, '4-6relu-2sigmoid')).toThrow(/shape/)
    expect(() => deserializeMlp('junk')).toThrow(ValidationError)
    expect(() => deserializeMlp({ ...data, layers: [{ ...data.layers[0], activation: 'gelu' }] })).toThrow(ValidationError)
  })
})

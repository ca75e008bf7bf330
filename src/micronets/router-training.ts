import type { RouterExample } from './data/router-rules'
import { routerFeatures, routerFeatureCount, type RoutedRequest } from './features'
import { createMlp, forward, type Mlp, type MlpSpec } from './mlp'
import { train, type Sample } from './train'

/** The router's net: request features → P(the local model's answer is good enough). */
export const routerSpec: MlpSpec = {
  inputs: routerFeatureCount,
  layers: [
    { units: 16, activation: 'relu' },
    { units: 8, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ],
}

/** An example as the chat request it stands for: `history` short turns, then the prompt. */
export function exampleRequest(example: RouterExample): RoutedRequest {
  const earlier = Array.from({ length: example.history }, (_, turn) => ({
    role: turn % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: turn % 2 === 0 ? 'Tell me more about that.' : 'Sure: here is a short answer about it.',
  }))
  return { messages: [...earlier, { role: 'user', content: example.prompt }], ...(example.thinking ? { enable_thinking: true } : {}) }
}

export function exampleSamples(examples: readonly RouterExample[]): Sample[] {
  return examples.map((example) => ({ input: routerFeatures(exampleRequest(example)), target: [example.label] }))
}

/** Every fifth example is held out: the router never trains on it. */
export function splitHeldOut<T>(examples: readonly T[]): { training: T[]; heldOut: T[] } {
  return { training: examples.filter((_, index) => index % 5 !== 4), heldOut: examples.filter((_, index) => index % 5 === 4) }
}

export const routerTraining = { epochs: 120, batchSize: 16, learningRate: 0.01, weightDecay: 1e-4, seed: 6 } as const

/** The initial router: a fresh net trained on `examples`, deterministic for a given seed. */
export function trainRouter(examples: readonly RouterExample[], seed: number = routerTraining.seed): { net: Mlp; losses: number[] } {
  const net = createMlp(routerSpec, seed)
  const losses = train(net, exampleSamples(examples), { ...routerTraining, seed })
  return { net, losses }
}

/** Share of `samples` where `predict` (a probability) lands on the right side of 0.5. */
export function accuracy(samples: readonly Sample[], predict: (input: ArrayLike<number>) => number): number {
  if (samples.length === 0) return 0
  const right = samples.filter((sample) => predict(sample.input) >= 0.5 === (sample.target[0] ?? 0) >= 0.5).length
  return right / samples.length
}

export function netAccuracy(net: Mlp, samples: readonly Sample[]): number {
  return accuracy(samples, (input) => forward(net, input)[0] ?? 0)
}

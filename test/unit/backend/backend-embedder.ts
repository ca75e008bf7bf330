// A relay Backend that embeds (the relay's embedding model: node-llama-cpp on the tiny bert GGUF)
// as a market node's embedder, for the swarm suites' executors: what a browser node with memory
// search on runs with wllama. And hostile ones that break what the market's readers check.
import type { MarketEmbedder } from '../../../src/market/embed-task'
import type { Backend } from '../../../src/relay/v1/backend'

export function backendEmbedder(backend: Backend, modelId: string, dimensions: number): MarketEmbedder & { calls: () => number } {
  let calls = 0
  return {
    modelId,
    dimensions,
    calls: () => calls,
    async embed(texts, signal) {
      calls++
      if (backend.embed === undefined) throw new Error(`the ${backend.name} backend does not embed`)
      return (await backend.embed({ model: modelId, input: texts }, signal)).vectors
    },
  }
}

/** How a hostile executor breaks its vectors: one too few, half the width, a NaN in the first. */
export type Corruption = 'count' | 'dimensions' | 'nan'

export function hostileEmbedder(honest: MarketEmbedder, corruption: Corruption): MarketEmbedder & { calls: () => number } {
  let calls = 0
  return {
    modelId: honest.modelId,
    dimensions: honest.dimensions,
    calls: () => calls,
    async embed(texts, signal) {
      calls++
      const vectors = (await honest.embed(texts, signal)).map((vector) => Array.from(vector))
      if (corruption === 'count') return vectors.slice(1)
      if (corruption === 'dimensions') return vectors.map((vector) => vector.slice(0, vector.length / 2))
      return vectors.map((vector, index) => (index === 0 ? [Number.NaN, ...vector.slice(1)] : vector))
    },
  }
}

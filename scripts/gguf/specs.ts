// The fixture models: file name and dimensions. tiny is for unit and browser tests, bench
// (about 30M parameters) for benchmarks.
import type { Qwen3Spec } from './qwen3'

export interface FixtureSpec {
  fileName: string
  model: Qwen3Spec
}

const shared = { seed: 20_250_101, contextLength: 2048, mergeCount: 300, weightStd: 0.02 }

export const tinyQwen3: FixtureSpec = {
  fileName: 'tiny-qwen3.gguf',
  model: {
    ...shared,
    name: 'edgeswarm tiny qwen3 (random weights)',
    embeddingLength: 64,
    blockCount: 2,
    headCount: 4,
    headCountKv: 2,
    headDim: 16,
    feedForwardLength: 128,
  },
}

export const benchQwen3: FixtureSpec = {
  fileName: 'bench-qwen3.gguf',
  model: {
    ...shared,
    name: 'edgeswarm bench qwen3 (random weights)',
    embeddingLength: 512,
    blockCount: 8,
    headCount: 8,
    headCountKv: 4,
    headDim: 64,
    feedForwardLength: 1920,
  },
}

export const fixtureSpecs: readonly FixtureSpec[] = [tinyQwen3, benchQwen3]

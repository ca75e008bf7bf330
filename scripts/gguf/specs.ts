// The fixture models: file name and dimensions. tiny is for unit and browser tests, bench
// (about 30M parameters) for benchmarks; the embedding models are the same pair for memory search.
import type { BertSpec } from './bert'
import type { Qwen3Spec } from './qwen3'

export type Qwen3Fixture = { fileName: string; kind?: 'qwen3'; model: Qwen3Spec }
export type FixtureSpec = Qwen3Fixture | { fileName: string; kind: 'bert'; model: BertSpec }

const shared = { seed: 20_250_101, contextLength: 2048, mergeCount: 300, weightStd: 0.02 }

export const tinyQwen3: Qwen3Fixture = {
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

/** tiny's weights with a chat template whose generation prompt opens `<think>`: the relay's reasoning split is tested on it. */
export const tinyQwen3Thinking: Qwen3Fixture = {
  fileName: 'tiny-qwen3-thinking.gguf',
  model: { ...tinyQwen3.model, name: 'edgeswarm tiny qwen3 thinking (random weights)', chatTemplate: 'thinking' },
}

/** tiny with Qwen2.5-Coder's fill-in-the-middle tokens, for infill (`suffix`) on /v1/completions. */
export const tinyCoder: Qwen3Fixture = {
  fileName: 'tiny-coder.gguf',
  model: { ...tinyQwen3.model, name: 'edgeswarm tiny coder (random weights, fill-in-the-middle tokens)', fim: true },
}

export const benchQwen3: Qwen3Fixture = {
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

const embeddingShared = { seed: 20_250_102, contextLength: 512, weightStd: 0.02 }

/** A random-weight multilingual sentence encoder of the production model's kind (bert + XLM-R unigram tokenizer). */
export const tinyEmbedding: FixtureSpec = {
  fileName: 'tiny-embedding.gguf',
  kind: 'bert',
  model: { ...embeddingShared, name: 'edgeswarm tiny embedding (random weights)', embeddingLength: 64, blockCount: 2, headCount: 4, feedForwardLength: 128 },
}

/** The production model's dimensions (granite-embedding-107m-multilingual: 384 wide, 6 layers, 12 heads, n_ff 1536), a small vocabulary. */
export const benchEmbedding: FixtureSpec = {
  fileName: 'bench-embedding.gguf',
  kind: 'bert',
  model: { ...embeddingShared, name: 'edgeswarm bench embedding (random weights)', embeddingLength: 384, blockCount: 6, headCount: 12, feedForwardLength: 1536 },
}

export const fixtureSpecs: readonly FixtureSpec[] = [tinyQwen3, tinyQwen3Thinking, tinyCoder, benchQwen3, tinyEmbedding, benchEmbedding]

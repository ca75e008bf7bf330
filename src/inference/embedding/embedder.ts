import { embeddingEntry } from '../model-catalog'
import type { LoadProgress } from '../types'

/** What an embedder says of itself once loaded. */
export interface EmbedderInfo {
  /** The model file's name without `.gguf`: vectors of different models are never compared. */
  modelId: string
  dimensions: number
}

/**
 * A sentence-embedding model: texts in, one unit-length vector per text out (so a dot product
 * is the cosine). Identical text gives an identical vector. The same interface on both sides of
 * the embedding worker (rpc.ts).
 */
export interface Embedder {
  load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<EmbedderInfo>
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>
  unload(): Promise<void>
}

/** The model memory search downloads when the user turns it on, with its size to show before asking. */
export interface EmbeddingModel {
  url: string
  /** Download size, shown in the consent. */
  bytes: number
  /** What the user is told it is. */
  label: string
}

/**
 * granite-embedding-107m-multilingual (IBM, Apache-2.0; 12 languages, 384 dimensions, 512-token
 * window, CLS pooling), as bartowski's llama.cpp conversion at Q8_0. Chosen over
 * multilingual-e5-small (the same XLM-R tokenizer and width, 12 layers instead of 6: about twice
 * the compute per text) and Qwen3-Embedding-0.6B (over 400 MB even at Q4); llama.cpp runs it as
 * architecture `bert` with its unigram (`t5`) tokenizer, the kind the test fixture generates.
 * Its URL, size and pins are in the catalog (model-catalog.ts), beside the chat models'.
 */
export const defaultEmbeddingModel: EmbeddingModel = {
  url: embeddingEntry.url,
  bytes: embeddingEntry.bytes,
  label: 'granite-embedding-107m-multilingual (Q8_0)',
}

/** Scales `vector` to unit length in place (a zero vector stays zero). */
export function normalize(vector: Float32Array): Float32Array {
  let squares = 0
  for (const value of vector) squares += value * value
  const norm = Math.sqrt(squares)
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] ?? 0) / norm
  return vector
}

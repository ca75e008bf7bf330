// Embedding tasks (schema.ts's header: `requirements.kind: 'embed'`). The texts travel as the
// spec's chat request, one user message each, so that the spec, its signature, the estimates
// and the ledger's bounds stay those of every task; the executor's embedder, not its chat
// engine, runs it. The result's text is the vectors, compact: JSON { model, dimensions,
// vectors: [base64 of little-endian float32, …] }, signed like any result. Its reader (the
// poster, through the task's `check`) refuses a wrong model, count or width, and a number that
// is not finite: the award lapses, the executor is suspected, another peer is asked.
import * as v from 'valibot'
import type { ChatRequest } from '../inference/types'
import { maxEmbeddingDimensions, vectorFromBase64, vectorsProblem, vectorToBase64 } from '../shared/embeddings'
import { jsonByteLength } from '../shared/encoding'
import { maxResultBytes } from './schema'

/** What an executor's embedder says of itself: peers read it from its presence. */
export interface EmbedderPresence {
  modelId: string
  dimensions: number
}

/** A node's sentence-embedding model as the market runs it: one vector per text, in order. */
export interface MarketEmbedder extends EmbedderPresence {
  embed(texts: readonly string[], signal: AbortSignal): Promise<readonly ArrayLike<number>[]>
}

/** Bytes of texts (as JSON) one embedding task carries: well inside the spec's 256 KB. */
export const maxEmbedTaskBytes = 160 * 1024
/** Texts one task carries: a chat request's most messages. */
export const maxEmbedTaskTexts = 256
/** Room kept in a result for the JSON around the vectors. */
const resultSlackChars = 1024

/** The chat request that carries `texts` in an embedding task's spec. */
export function embedTaskRequest(texts: readonly string[]): ChatRequest {
  return { messages: texts.map((text) => ({ role: 'user', content: text })), max_tokens: 1 }
}

/** The texts an embedding task's request carries. */
export function textsOfEmbedTask(request: ChatRequest): string[] {
  return request.messages.map((message) => message.content)
}

/** Vectors of `dimensions` one result can hold. */
export function vectorsPerResult(dimensions: number): number {
  const charsPerVector = Math.ceil((dimensions * 4) / 3) * 4 + 3
  return Math.max(1, Math.floor((Math.min(maxResultBytes, 200_000) - resultSlackChars) / charsPerVector))
}

/** `texts` in order, cut into groups that each fit one task: its spec and its result. */
export function embedBatches(texts: readonly string[], dimensions: number): string[][] {
  const perResult = Math.min(maxEmbedTaskTexts, vectorsPerResult(dimensions))
  const batches: string[][] = []
  let current: string[] = []
  let bytes = 0
  for (const text of texts) {
    const size = jsonByteLength(text)
    if (current.length > 0 && (current.length >= perResult || bytes + size > maxEmbedTaskBytes)) {
      batches.push(current)
      current = []
      bytes = 0
    }
    current.push(text)
    bytes += size
  }
  if (current.length > 0) batches.push(current)
  return batches
}

export function encodeEmbedResult(modelId: string, vectors: readonly ArrayLike<number>[]): string {
  return JSON.stringify({ model: modelId, dimensions: vectors[0]?.length ?? 0, vectors: vectors.map((vector) => vectorToBase64(Array.from(vector))) })
}

const EmbedResultSchema = v.object({
  model: v.pipe(v.string(), v.maxLength(128)),
  dimensions: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(maxEmbeddingDimensions)),
  vectors: v.array(v.string()),
})

/** What the poster asked for: the model it required, the count of its texts, the width that model advertises. */
export interface EmbedExpectation {
  modelId: string
  count: number
  dimensions: number
}

/** The vectors a result's text holds, or why it holds none that answer `expected`. Never throws. */
export function decodeEmbedResult(text: string, expected: EmbedExpectation): { vectors: number[][] } | { problem: string } {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { problem: 'the result is not JSON' }
  }
  const parsed = v.safeParse(EmbedResultSchema, json)
  if (!parsed.success) return { problem: `the result is not an embedding result: ${v.summarize(parsed.issues)}` }
  const { model, dimensions, vectors: encoded } = parsed.output
  if (model !== expected.modelId) return { problem: `vectors of model ${JSON.stringify(model)}, not ${JSON.stringify(expected.modelId)}` }
  if (dimensions !== expected.dimensions) return { problem: `vectors of ${dimensions} dimensions, the model advertises ${expected.dimensions}` }
  const vectors: number[][] = []
  for (const [index, item] of encoded.entries()) {
    const vector = vectorFromBase64(item)
    if (vector === null) return { problem: `vector ${index} is not base64 of float32` }
    vectors.push(vector)
  }
  const problem = vectorsProblem(vectors, expected.count) ?? (vectors[0]?.length === dimensions ? null : `vectors of ${vectors[0]?.length ?? 0} dimensions, it says ${dimensions}`)
  return problem === null ? { vectors } : { problem }
}

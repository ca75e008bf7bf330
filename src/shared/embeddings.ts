// Embeddings as OpenAI's `POST /v1/embeddings` carries them, and the checks every reader of
// vectors it did not make applies (an upstream's answer, a peer's task result): one vector per
// text, all of one width, every number finite. DOM-free: the relay and the market both use it.
import * as v from 'valibot'
import { fromBase64Url, toBase64Url } from './encoding'

/** Texts one request may embed (OpenAI's own cap). */
export const maxEmbeddingInputs = 2048
/** Characters of one text: about 8k tokens, past any embedding model's window. */
export const maxEmbeddingInputChars = 32_768
/** The widest vector accepted from anyone (OpenAI's largest is 3072). */
export const maxEmbeddingDimensions = 8192

const Text = v.pipe(v.string(), v.minLength(1, 'an input text is empty'), v.maxLength(maxEmbeddingInputChars, `an input text is over ${maxEmbeddingInputChars} characters`))

/** A `POST /v1/embeddings` body: the fields we honour, checked; unknown fields are kept and ignored. */
export const EmbeddingsRequestSchema = v.looseObject({
  model: v.pipe(v.string('model is required'), v.minLength(1, 'model is empty'), v.maxLength(256)),
  input: v.union(
    [Text, v.pipe(v.array(Text), v.minLength(1, 'input is empty'), v.maxLength(maxEmbeddingInputs, `input has more than ${maxEmbeddingInputs} texts`))],
    'input must be a string or an array of strings',
  ),
  encoding_format: v.optional(v.nullable(v.picklist(['float', 'base64'], 'encoding_format must be "float" or "base64"'))),
  dimensions: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(maxEmbeddingDimensions)))),
  user: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
})
export type EmbeddingsRequest = v.InferOutput<typeof EmbeddingsRequestSchema>

/** Whether `input` is made of token ids (a number array, or arrays of them), which we do not take. */
export function isTokenInput(input: unknown): boolean {
  return Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'number' || (Array.isArray(item) && item.every((token) => typeof token === 'number')))
}

export interface EmbeddingsResponse {
  object: 'list'
  data: { object: 'embedding'; index: number; embedding: number[] | string }[]
  model: string
  usage: { prompt_tokens: number; total_tokens: number }
}

/** An answer as an OpenAI-compatible server sends it (vectors as floats: we ask for those). */
export const EmbeddingsResponseSchema = v.looseObject({
  data: v.pipe(
    v.array(v.looseObject({ index: v.pipe(v.number(), v.integer(), v.minValue(0)), embedding: v.pipe(v.array(v.number()), v.maxLength(maxEmbeddingDimensions)) })),
    v.maxLength(maxEmbeddingInputs),
  ),
  model: v.optional(v.string()),
  usage: v.optional(v.looseObject({ prompt_tokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))) })),
})

/** Why `vectors` cannot be the embeddings of `count` texts; null when they can. */
export function vectorsProblem(vectors: readonly (readonly number[])[], count: number): string | null {
  if (vectors.length !== count) return `${vectors.length} vectors for ${count} texts`
  const width = vectors[0]?.length ?? 0
  if (width === 0 || width > maxEmbeddingDimensions) return `vectors of ${width} dimensions`
  for (const [index, vector] of vectors.entries()) {
    if (vector.length !== width) return `vector ${index} has ${vector.length} dimensions, vector 0 has ${width}`
    if (!vector.every(Number.isFinite)) return `vector ${index} holds a number that is not finite`
  }
  return null
}

/** The vector scaled to unit length (a zero vector stays zero). */
export function unitLength(vector: readonly number[]): number[] {
  let squares = 0
  for (const value of vector) squares += value * value
  const norm = Math.sqrt(squares)
  return norm > 0 ? vector.map((value) => value / norm) : [...vector]
}

/** The first `dimensions` of a vector, at unit length again (how OpenAI shortens its text-embedding-3 vectors). */
export function shorten(vector: readonly number[], dimensions: number): number[] {
  return vector.length <= dimensions ? [...vector] : unitLength(vector.slice(0, dimensions))
}

/** A vector as little-endian float32 in base64: what OpenAI sends for `encoding_format: "base64"`. */
export function vectorToBase64(vector: readonly number[]): string {
  const bytes = new DataView(new ArrayBuffer(vector.length * 4))
  vector.forEach((value, index) => bytes.setFloat32(index * 4, value, true))
  return base64Of(new Uint8Array(bytes.buffer))
}

/** The vector `vectorToBase64` wrote; null when the text is not base64 of whole float32s. */
export function vectorFromBase64(text: string): number[] | null {
  const bytes = bytesOfBase64(text)
  if (bytes === null || bytes.length % 4 !== 0) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return Array.from({ length: bytes.length / 4 }, (_unused, index) => view.getFloat32(index * 4, true))
}

// Standard base64 with padding, through the doc's base64url helpers.
function base64Of(bytes: Uint8Array): string {
  const url = toBase64Url(bytes).replace(/-/g, '+').replace(/_/g, '/')
  return url + '='.repeat((4 - (url.length % 4)) % 4)
}

function bytesOfBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null
  return fromBase64Url(text.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'))
}

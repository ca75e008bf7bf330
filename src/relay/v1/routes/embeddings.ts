// POST /v1/embeddings: one vector per input text, from the backend that serves `model`.
// `dimensions` shortens the vectors to their first N and scales them back to unit length (as
// OpenAI does for text-embedding-3); more dimensions than the model makes is a 400.
// `encoding_format: "base64"` (the openai clients' default) sends little-endian float32.
import * as v from 'valibot'
import { EmbeddingsRequestSchema, isTokenInput, shorten, vectorsProblem, vectorToBase64, type EmbeddingsRequest, type EmbeddingsResponse } from '../../../shared/embeddings'
import type { Backend, Embeddings } from '../backend'
import { ApiError, badRequest, UpstreamError } from '../errors'
import { sendV1Json } from '../http'
import type { Exchange, Route } from '../route'

/** Tokens a text may bring besides its bytes (a BOS, an EOS, a separator). */
const slackTokensPerText = 4

export function parseEmbeddingsRequest(json: unknown): EmbeddingsRequest & { input: string[] } {
  if (typeof json === 'object' && json !== null && 'input' in json && isTokenInput(json.input)) {
    throw badRequest('input: token arrays are not accepted here; send the text (a string or an array of strings)', 'input', 'token_input_unsupported')
  }
  const parsed = v.safeParse(EmbeddingsRequestSchema, json)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const param = v.getDotPath(issue)?.split('.')[0] ?? null
    throw badRequest(param === null ? issue.message : `${param}: ${issue.message}`, param)
  }
  const request = parsed.output
  return { ...request, input: typeof request.input === 'string' ? [request.input] : request.input }
}

/** The backend's vectors, checked: a backend that breaks the count or width is a bad gateway, never an answer. */
export async function embedWith(backend: Backend, model: string, input: readonly string[], signal: AbortSignal): Promise<Embeddings> {
  if (backend.embed === undefined) {
    throw new ApiError(501, `model ${JSON.stringify(model)}: the ${backend.name} backend makes no embeddings; GET /v1/models lists the models`, 'not_implemented', 'embeddings_unsupported', 'model')
  }
  const embeddings = await backend.embed({ model, input }, signal)
  const problem = vectorsProblem(embeddings.vectors, input.length)
  if (problem !== null) throw new UpstreamError(`the ${backend.name} backend's embeddings are broken`, 'embeddings_broken', 502, problem, `embeddings: ${problem}`)
  return embeddings
}

export function embeddingsRoute(): Route {
  return {
    methods: ['POST'],
    path: '/v1/embeddings',
    async handle(exchange: Exchange) {
      const { req, res, headers, signal, entry } = exchange
      const { json } = await exchange.readJson()
      const request = parseEmbeddingsRequest(json)
      entry.model = request.model
      entry.inputs = request.input.length
      const backend = exchange.pick(request.model)
      entry.backend = backend.name
      exchange.reserve(request.input.reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8') + slackTokensPerText, 0))
      const embeddings = await embedWith(backend, request.model, request.input, signal)
      exchange.charge({ prompt_tokens: embeddings.promptTokens, completion_tokens: 0 })
      const width = embeddings.vectors[0]?.length ?? 0
      const dimensions = request.dimensions ?? width
      if (dimensions > width) throw badRequest(`dimensions is ${dimensions}, but ${embeddings.model} makes vectors of ${width}`, 'dimensions', 'dimensions_too_large')
      const base64 = request.encoding_format === 'base64'
      const body: EmbeddingsResponse = {
        object: 'list',
        data: embeddings.vectors.map((vector, index) => {
          const shortened = shorten(vector, dimensions)
          return { object: 'embedding', index, embedding: base64 ? vectorToBase64(shortened) : shortened }
        }),
        model: embeddings.model,
        usage: { prompt_tokens: embeddings.promptTokens, total_tokens: embeddings.promptTokens },
      }
      sendV1Json(req, res, 200, body, headers)
    },
  }
}

// POST /api/embed (a string or several, `embeddings`) and the legacy POST /api/embeddings (one
// `prompt`, one `embedding`), through the backend's embed.
import type { Backend, Embeddings } from '../v1/backend'
import { ApiError, badRequest } from '../v1/errors'
import { sendV1Json } from '../v1/http'
import type { Exchange, Route } from '../v1/route'
import { servedName } from './model-name'
import { parseOllama } from './translate'
import { OllamaEmbeddingsRequestSchema, OllamaEmbedRequestSchema } from './wire'

/** An embedding model takes no sampling options; any given is refused by name. */
function refuseOptions(options: Readonly<Record<string, unknown>> | null | undefined): void {
  const given = Object.entries(options ?? {}).find(([, value]) => value !== null && value !== undefined)
  if (given !== undefined) throw badRequest(`options.${given[0]} is not supported for embeddings`, `options.${given[0]}`, 'unsupported_option')
}

async function embedWith(exchange: Exchange, all: readonly Backend[], name: string, input: readonly string[], body: string): Promise<Embeddings> {
  exchange.entry.model = name
  const model = servedName(all, name)
  const backend = exchange.pick(model)
  exchange.entry.backend = backend.name
  if (backend.embed === undefined) throw new ApiError(501, `the ${backend.name} backend has no embedding model`, 'not_implemented', 'embeddings_unavailable')
  // No tokenizer makes more tokens than the bytes it reads.
  exchange.reserve(Buffer.byteLength(body, 'utf8') + input.length)
  const embeddings = await backend.embed({ model, input }, exchange.signal)
  exchange.charge({ prompt_tokens: embeddings.promptTokens, completion_tokens: 0 })
  return embeddings
}

export function ollamaEmbedRoute(all: readonly Backend[]): Route {
  return {
    methods: ['POST'],
    path: '/api/embed',
    dialect: 'ollama',
    async handle(exchange) {
      const startedNs = process.hrtime.bigint()
      const { json, body } = await exchange.readJson()
      const request = parseOllama(OllamaEmbedRequestSchema, json)
      refuseOptions(request.options)
      if (request.dimensions != null) throw badRequest('dimensions is not supported: the model’s vectors are sent whole', 'dimensions', 'unsupported_field')
      const input = typeof request.input === 'string' ? [request.input] : request.input
      const embeddings = await embedWith(exchange, all, request.model, input, body)
      const totalNs = Number(process.hrtime.bigint() - startedNs)
      sendV1Json(
        exchange.req,
        exchange.res,
        200,
        { model: request.model, embeddings: embeddings.vectors, total_duration: totalNs, load_duration: 0, prompt_eval_count: embeddings.promptTokens },
        exchange.headers,
      )
    },
  }
}

export function ollamaEmbeddingsRoute(all: readonly Backend[]): Route {
  return {
    methods: ['POST'],
    path: '/api/embeddings',
    dialect: 'ollama',
    async handle(exchange) {
      const { json, body } = await exchange.readJson()
      const request = parseOllama(OllamaEmbeddingsRequestSchema, json)
      refuseOptions(request.options)
      const embeddings = await embedWith(exchange, all, request.model, [request.prompt], body)
      sendV1Json(exchange.req, exchange.res, 200, { embedding: embeddings.vectors[0] ?? [] }, exchange.headers)
    },
  }
}

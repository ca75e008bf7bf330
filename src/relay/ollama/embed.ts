// POST /api/embed (a string or several, `embeddings`; `dimensions` shortens them as /v1 does) and the legacy POST /api/embeddings (one
// `prompt`, one `embedding`), through the backend's embed.
import { shorten } from '../../shared/embeddings'
import type { Backend, Embeddings } from '../v1/backend'
import { badRequest } from '../v1/errors'
import { sendV1Json } from '../v1/http'
import type { Exchange, Route } from '../v1/route'
import { embedWith } from '../v1/routes/embeddings'
import { servedName } from './model-name'
import { parseOllama } from './translate'
import { OllamaEmbeddingsRequestSchema, OllamaEmbedRequestSchema } from './wire'

/** An embedding model takes no sampling options; any given is refused by name. */
function refuseOptions(options: Readonly<Record<string, unknown>> | null | undefined): void {
  const given = Object.entries(options ?? {}).find(([, value]) => value !== null && value !== undefined)
  if (given !== undefined) throw badRequest(`options.${given[0]} is not supported for embeddings`, `options.${given[0]}`, 'unsupported_option')
}

async function embedFor(exchange: Exchange, all: readonly Backend[], name: string, input: readonly string[], body: string): Promise<Embeddings> {
  exchange.entry.model = name
  const model = servedName(all, name)
  const backend = exchange.pick(model)
  exchange.entry.backend = backend.name
  // No tokenizer makes more tokens than the bytes it reads.
  exchange.reserve(Buffer.byteLength(body, 'utf8') + input.length)
  const embeddings = await embedWith(backend, model, input, exchange.signal)
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
      if (request.truncate === true)
        throw badRequest('truncate: the relay does not cut texts; one past the model’s window is refused (leave truncate out or send false)', 'truncate', 'unsupported_field')
      const input = typeof request.input === 'string' ? [request.input] : request.input
      const embeddings = await embedFor(exchange, all, request.model, input, body)
      const width = embeddings.vectors[0]?.length ?? 0
      const dimensions = request.dimensions ?? width
      if (dimensions > width) throw badRequest(`dimensions is ${dimensions}, but ${embeddings.model} makes vectors of ${width}`, 'dimensions', 'dimensions_too_large')
      const totalNs = Number(process.hrtime.bigint() - startedNs)
      sendV1Json(
        exchange.req,
        exchange.res,
        200,
        { model: request.model, embeddings: embeddings.vectors.map((vector) => shorten(vector, dimensions)), total_duration: totalNs, load_duration: 0, prompt_eval_count: embeddings.promptTokens },
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
      const embeddings = await embedFor(exchange, all, request.model, [request.prompt], body)
      sendV1Json(exchange.req, exchange.res, 200, { embedding: embeddings.vectors[0] ?? [] }, exchange.headers)
    },
  }
}

// GET /api/tags (the models of every backend, in Ollama's shape), POST /api/show (one model's
// details, 404 for a model none serves) and GET /api/version.
import type { ModelInfo } from '../../shared/openai'
import { readPackageVersion } from '../version'
import type { Backend } from '../v1/backend'
import { ApiError } from '../v1/errors'
import { sendV1Json } from '../v1/http'
import type { Route } from '../v1/route'
import type { ModelFactsOf } from './model-facts'
import { servedName } from './model-name'
import { parseOllama } from './translate'
import { OllamaShowRequestSchema, type OllamaModelEntry } from './wire'

/**
 * The Ollama release whose API this matches (`think` and `thinking` came in 0.9.0): clients
 * read it to decide which fields to send.
 */
export const ollamaApiVersion = '0.9.0'

async function listed(all: readonly Backend[], signal: AbortSignal): Promise<{ backend: Backend; model: ModelInfo }[]> {
  const lists = await Promise.all(all.map(async (backend) => (await backend.models(signal)).map((model) => ({ backend, model }))))
  return lists.flat()
}

export function ollamaTagsRoute(all: readonly Backend[], factsOf: ModelFactsOf): Route {
  return {
    methods: ['GET', 'HEAD'],
    path: '/api/tags',
    dialect: 'ollama',
    async handle({ req, res, headers, signal }) {
      const models = await Promise.all(
        (await listed(all, signal)).map(async ({ model }): Promise<OllamaModelEntry> => {
          const facts = await factsOf(model)
          // The digest is left empty: the relay hashes no model files it did not download.
          return { name: model.id, model: model.id, modified_at: facts.modifiedAt, size: facts.size, digest: '', details: facts.details }
        }),
      )
      sendV1Json(req, res, 200, { models }, headers)
    },
  }
}

export function ollamaShowRoute(all: readonly Backend[], factsOf: ModelFactsOf): Route {
  return {
    methods: ['POST'],
    path: '/api/show',
    dialect: 'ollama',
    async handle(exchange) {
      const { req, res, headers, signal, entry } = exchange
      const request = parseOllama(OllamaShowRequestSchema, (await exchange.readJson()).json)
      const name = request.model ?? request.name ?? ''
      entry.model = name
      const id = servedName(all, name)
      const found = (await listed(all, signal)).find(({ model }) => model.id === id)
      if (found === undefined) throw new ApiError(404, `model "${name}" not found; GET /api/tags lists the models`, 'invalid_request_error', 'model_not_found', 'model')
      const facts = await factsOf(found.model)
      const contextTokens = found.model.max_model_len
      const capabilities = facts.kind === 'embedding' ? ['embedding'] : ['completion', 'tools', ...(facts.template.includes('<think>') ? ['thinking'] : [])]
      sendV1Json(
        req,
        res,
        200,
        {
          modelfile: '',
          parameters: contextTokens === undefined ? '' : `num_ctx ${contextTokens}`,
          template: facts.template,
          details: facts.details,
          model_info: facts.modelInfo,
          capabilities,
          modified_at: facts.modifiedAt,
        },
        headers,
      )
    },
  }
}

export function ollamaVersionRoute(): Route {
  const relay = readPackageVersion()
  return {
    methods: ['GET', 'HEAD'],
    path: '/api/version',
    dialect: 'ollama',
    handle({ req, res, headers }) {
      sendV1Json(req, res, 200, { version: ollamaApiVersion, relay }, headers)
      return Promise.resolve()
    },
  }
}

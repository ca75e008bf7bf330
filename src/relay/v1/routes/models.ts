// GET /v1/models: every backend's models in one list.
import type { ModelList } from '../../../shared/openai'
import type { Backend } from '../backend'
import { sendV1Json } from '../http'
import type { Route } from '../route'

export const nothingConfigured =
  'no model backend is configured: set RELAY_MODEL (a model by name) or RELAY_MODEL_PATH (a GGUF file), or RELAY_UPSTREAM_URL / RELAY_UPSTREAM_URLS (OpenAI-compatible servers)'

export function modelsRoute(all: readonly Backend[]): Route {
  return {
    methods: ['GET', 'HEAD'],
    path: '/v1/models',
    async handle({ req, res, headers, signal }) {
      const lists = await Promise.all(all.map((backend) => backend.models(signal)))
      const body: ModelList & { message?: string } = { object: 'list', data: lists.flat() }
      if (all.length === 0) body.message = nothingConfigured
      sendV1Json(req, res, 200, body, headers)
    },
  }
}

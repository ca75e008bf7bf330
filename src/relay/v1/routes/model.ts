// GET /v1/models/{id}: one model of the list (ids may hold `/`, as `swarm/<room>` does).
import type { Backend } from '../backend'
import { ApiError } from '../errors'
import { sendV1Json } from '../http'
import type { Route } from '../route'

export function modelRoute(all: readonly Backend[]): Route {
  return {
    methods: ['GET', 'HEAD'],
    path: /^\/v1\/models\/(.+)$/,
    async handle({ req, res, headers, signal }, [id = '']) {
      const lists = await Promise.all(all.map((backend) => backend.models(signal)))
      const model = lists.flat().find((entry) => entry.id === id)
      if (model === undefined) {
        throw new ApiError(404, `model ${JSON.stringify(id)} is not served here; GET /v1/models lists the models`, 'invalid_request_error', 'model_not_found', 'model')
      }
      sendV1Json(req, res, 200, model, headers)
    },
  }
}

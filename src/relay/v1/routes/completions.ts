// POST /v1/completions: OpenAI's text completions (a raw prompt, `suffix` for fill-in-the-middle).
import type { V1Config } from '../config'
import { ApiError } from '../errors'
import { parseCompletionRequest, promptTokenBound } from '../request'
import { chargedFor, createMeter } from '../respond'
import { completionPromptChars, respondCompletion } from '../respond-completion'
import type { Route } from '../route'
import { refuseUnhonoured } from '../sampling'

export function completionsRoute(config: V1Config): Route {
  return {
    methods: ['POST'],
    path: '/v1/completions',
    async handle(exchange) {
      const { req, res, headers, signal, entry } = exchange
      const body = await exchange.readBody()
      const { request, backendRequest } = parseCompletionRequest(body, config)
      entry.model = request.model
      entry.stream = request.stream === true
      const backend = exchange.pick(request.model)
      entry.backend = backend.name
      if (backend.complete === undefined)
        throw new ApiError(501, `the ${backend.name} backend does not do text completions; use /v1/chat/completions`, 'not_implemented', 'completions_unsupported', 'model')
      refuseUnhonoured(request, 'completion', backend)
      // The most this request may cost, held against the day's budget until it ends.
      exchange.reserve(promptTokenBound(body) + backendRequest.max_tokens)
      const meter = createMeter()
      const answer = {
        request: backendRequest,
        stream: request.stream === true,
        includeUsage: request.stream_options?.include_usage === true,
        lead: request.echo === true ? backendRequest.prompt : '',
      }
      try {
        const answered = await respondCompletion(req, res, answer, backend.complete(backendRequest, signal), headers, meter)
        exchange.firstChunk(answered.firstChunkMs)
      } finally {
        // Whatever ended it (the answer, the client leaving, the backend failing): what was served.
        exchange.charge(chargedFor(completionPromptChars(backendRequest), meter))
      }
    },
  }
}

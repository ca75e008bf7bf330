// POST /v1/chat/completions.
import type { V1Config } from '../config'
import { splitReasoningChunks, thinkingAsked } from '../reasoning'
import { parseChatRequest, promptTokenBound } from '../request'
import { chargedUsage, createMeter, respond } from '../respond'
import type { Route } from '../route'
import { refuseUnhonoured } from '../sampling'

export function chatRoute(config: V1Config): Route {
  return {
    methods: ['POST'],
    path: '/v1/chat/completions',
    async handle(exchange) {
      const { req, res, headers, signal, entry } = exchange
      const body = await exchange.readBody()
      const request = parseChatRequest(body, config)
      // Thinking fields that disagree are a 400 whichever backend would answer.
      thinkingAsked(request)
      entry.model = request.model
      entry.stream = request.stream === true
      const backend = exchange.pick(request.model)
      entry.backend = backend.name
      refuseUnhonoured(request, 'chat', backend)
      // The most this request may cost, held against the day's budget until it ends.
      exchange.reserve(promptTokenBound(body, request) + request.max_tokens)
      const meter = createMeter()
      try {
        const answered = await respond(req, res, request, splitReasoningChunks(backend.chat(request, signal)), headers, meter)
        exchange.firstChunk(answered.firstChunkMs)
      } finally {
        // Whatever ended it (the answer, the client leaving, the backend failing): what was served.
        exchange.charge(chargedUsage(request, meter))
      }
    },
  }
}

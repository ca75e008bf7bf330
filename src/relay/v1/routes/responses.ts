// POST /v1/responses: OpenAI's Responses API on every backend, through the chat request the
// backends take (responses-request.ts) and the thinking split; the answer as a `response`
// object, or as its events over SSE (responses-output.ts).
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import type { V1Config } from '../config'
import { toApiError } from '../errors'
import { sendV1Json } from '../http'
import { splitReasoningChunks, thinkingAsked } from '../reasoning'
import { promptTokenBound } from '../request'
import { chargedUsage, createMeter, meterChunk } from '../respond'
import { createResponseBuilder, type ResponseEvent } from '../responses-output'
import { parseResponsesRequest } from '../responses-request'
import type { Route } from '../route'

async function write(res: ServerResponse, events: readonly ResponseEvent[]): Promise<void> {
  for (const event of events) {
    if (res.destroyed || res.writableEnded) return
    // OpenAI names each event's type in the SSE `event` field too.
    if (!res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)) await Promise.race([once(res, 'drain'), once(res, 'close')])
  }
}

export function responsesRoute(config: V1Config): Route {
  return {
    methods: ['POST'],
    path: '/v1/responses',
    async handle(exchange) {
      const { req, res, headers, signal, entry } = exchange
      const { body, json } = await exchange.readJson()
      const { request, chat } = parseResponsesRequest(json, config)
      // Thinking fields that disagree are a 400 whichever backend would answer.
      thinkingAsked(chat)
      const streaming = request.stream === true
      entry.model = chat.model
      entry.stream = streaming
      const backend = exchange.pick(chat.model)
      entry.backend = backend.name
      exchange.reserve(promptTokenBound(body, chat) + chat.max_tokens)
      const meter = createMeter()
      const builder = createResponseBuilder(request, chat.model)
      const startedMs = Date.now()
      try {
        const iterator = splitReasoningChunks(backend.chat(chat, signal))[Symbol.asyncIterator]()
        // A failure before the first chunk is still an HTTP status.
        let step = await iterator.next()
        if (streaming) {
          res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' })
          res.flushHeaders()
          exchange.firstChunk(Date.now() - startedMs)
          await write(res, builder.start())
        }
        try {
          for (; step.done !== true; step = await iterator.next()) {
            meterChunk(meter, step.value)
            // A whole answer is the builder's response at the end; its events are not kept.
            const events = builder.push(step.value)
            if (streaming) await write(res, events)
          }
        } catch (error) {
          if (!streaming || res.destroyed) throw error
          await write(res, builder.fail(toApiError(error)))
          res.end()
          throw error
        }
        const done = builder.finish(chargedUsage(chat, meter))
        if (!streaming) {
          sendV1Json(req, res, 200, builder.response, headers)
          return
        }
        await write(res, done)
        res.end()
      } finally {
        exchange.charge(chargedUsage(chat, meter))
      }
    },
  }
}

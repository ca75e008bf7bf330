// POST /api/chat: Ollama's chat on the relay's backends, streamed by default as Ollama does.
import type { Backend } from '../v1/backend'
import type { V1Config } from '../v1/config'
import { promptTokenBound } from '../v1/request'
import type { Route } from '../v1/route'
import { answer, answerLoaded, createdAt, type Render } from './answer'
import { checkContext, servedName } from './model-name'
import { readOptions, refuseUnhonouredOptions } from './options'
import { chatSteps } from './steps'
import { parseChatBody, refuseUnsupported, toBackendRequest } from './translate'
import type { OllamaPiece } from './wire'

/** Ollama's message of a piece: thinking and calls only where there are some. */
export function messageOf(piece: OllamaPiece): Record<string, unknown> {
  return {
    role: 'assistant',
    content: piece.content,
    ...(piece.thinking === '' ? {} : { thinking: piece.thinking }),
    ...(piece.toolCalls.length === 0 ? {} : { tool_calls: piece.toolCalls }),
  }
}

export function chatRender(model: string): Render {
  return (piece, ending) => ({
    model,
    created_at: createdAt(),
    message: messageOf(piece),
    done: ending !== null,
    ...(ending === null ? {} : { done_reason: ending.reason, ...ending.timings }),
  })
}

export function ollamaChatRoute(all: readonly Backend[], config: V1Config): Route {
  return {
    methods: ['POST'],
    path: '/api/chat',
    dialect: 'ollama',
    async handle(exchange) {
      const startedNs = process.hrtime.bigint()
      const { json, body } = await exchange.readJson()
      const ollama = parseChatBody(json)
      const stream = ollama.stream ?? true
      exchange.entry.model = ollama.model
      exchange.entry.stream = stream
      refuseUnsupported(
        ollama,
        (ollama.messages ?? []).map((message) => message.images),
      )
      const sampling = readOptions(ollama.options)
      const render = chatRender(ollama.model)
      const messages = ollama.messages ?? []
      if (messages.length === 0) {
        exchange.pick(servedName(all, ollama.model))
        answerLoaded(exchange, render)
        return
      }
      const model = servedName(all, ollama.model)
      const request = toBackendRequest({ ...ollama, model, messages }, sampling, stream, config)
      const backend = exchange.pick(model)
      exchange.entry.backend = backend.name
      refuseUnhonouredOptions(request, 'chat', backend)
      await checkContext(backend, model, sampling.contextTokens, exchange.signal)
      exchange.reserve(promptTokenBound(body, request) + request.max_tokens)
      const promptChars = messages.reduce((sum, message) => sum + (message.content?.length ?? 0), 0)
      await answer(exchange, { stream, steps: chatSteps(backend.chat(request, exchange.signal), ollama.think !== false), render, promptChars, startedNs })
    },
  }
}

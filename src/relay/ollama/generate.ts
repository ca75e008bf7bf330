// POST /api/generate: a prompt. Templated (with `system`) it is a one-turn chat; `raw` or a
// `suffix` (fill-in-the-middle) continues the prompt as written through the backend's complete.
import type { Backend, CompletionBackendRequest } from '../v1/backend'
import type { V1Config } from '../v1/config'
import { ApiError, badRequest } from '../v1/errors'
import { promptTokenBound } from '../v1/request'
import type { Exchange, Route } from '../v1/route'
import { answer, answerLoaded, createdAt, type Render } from './answer'
import { checkContext, servedName } from './model-name'
import { readOptions, refuseUnhonouredOptions, type Sampling } from './options'
import { chatSteps, completionSteps } from './steps'
import { parseOllama, refuseUnsupported, toBackendRequest } from './translate'
import { OllamaGenerateRequestSchema, type OllamaGenerateRequest } from './wire'

const generateRender =
  (model: string): Render =>
  (piece, ending) => ({
    model,
    created_at: createdAt(),
    response: piece.content,
    ...(piece.thinking === '' ? {} : { thinking: piece.thinking }),
    done: ending !== null,
    ...(ending === null ? {} : { done_reason: ending.reason, ...ending.timings }),
  })

/** What a raw completion cannot take, refused by name. */
function refuseForRaw(request: OllamaGenerateRequest): void {
  const given = (['system', 'format', 'think'] as const).find((field) => request[field] != null && request[field] !== '')
  if (given !== undefined) throw badRequest(`${given} cannot be used with raw or suffix: the prompt is continued as written`, given, 'unsupported_field')
}

function completionRequest(model: string, request: OllamaGenerateRequest, sampling: Sampling, maxTokensCap: number): CompletionBackendRequest {
  const { max_tokens, stop, temperature, top_p, seed, extra } = sampling
  if (max_tokens !== undefined && max_tokens > maxTokensCap) {
    throw badRequest(`options.num_predict is ${max_tokens}, at most ${maxTokensCap} on this relay (RELAY_MAX_TOKENS)`, 'options.num_predict', 'max_tokens_too_large')
  }
  return {
    model,
    prompt: request.prompt ?? '',
    ...(request.suffix == null ? {} : { suffix: request.suffix }),
    max_tokens: max_tokens ?? maxTokensCap,
    stop: stop ?? [],
    ...(temperature === undefined ? {} : { temperature }),
    ...(top_p === undefined ? {} : { top_p }),
    ...(seed === undefined ? {} : { seed }),
    ...(Object.keys(extra).length === 0 ? {} : { sampling: extra }),
  }
}

async function generateRaw(exchange: Exchange, backend: Backend, request: CompletionBackendRequest, body: string, stream: boolean, render: Render, startedNs: bigint): Promise<void> {
  if (backend.complete === undefined)
    throw new ApiError(501, `the ${backend.name} backend cannot continue a raw prompt (raw or suffix); leave them out for a chat`, 'not_implemented', 'completions_unavailable')
  exchange.reserve(Buffer.byteLength(body, 'utf8') + request.max_tokens)
  const promptChars = request.prompt.length + (request.suffix?.length ?? 0)
  await answer(exchange, { stream, steps: completionSteps(backend.complete(request, exchange.signal)), render, promptChars, startedNs })
}

export function ollamaGenerateRoute(all: readonly Backend[], config: V1Config): Route {
  return {
    methods: ['POST'],
    path: '/api/generate',
    dialect: 'ollama',
    async handle(exchange) {
      const startedNs = process.hrtime.bigint()
      const { json, body } = await exchange.readJson()
      const request = parseOllama(OllamaGenerateRequestSchema, json)
      const stream = request.stream ?? true
      exchange.entry.model = request.model
      exchange.entry.stream = stream
      refuseUnsupported(request, [request.images])
      if (request.template != null && request.template !== '') throw badRequest('template is not supported: the relay uses the model’s own chat template', 'template', 'unsupported_field')
      if (request.context != null && request.context.length > 0)
        throw badRequest('context is not supported: the relay keeps no tokens between requests; send the conversation to /api/chat', 'context', 'unsupported_field')
      const sampling = readOptions(request.options)
      const render = generateRender(request.model)
      const model = servedName(all, request.model)
      const prompt = request.prompt ?? ''
      const raw = request.raw === true || (request.suffix != null && request.suffix !== '')
      if (prompt === '' && !raw) {
        exchange.pick(model)
        answerLoaded(exchange, render)
        return
      }
      const backend = exchange.pick(model)
      exchange.entry.backend = backend.name
      await checkContext(backend, model, sampling.contextTokens, exchange.signal)
      if (raw) {
        refuseForRaw(request)
        await generateRaw(exchange, backend, completionRequest(model, request, sampling, config.maxTokens), body, stream, render, startedNs)
        return
      }
      const messages = [...(request.system == null || request.system === '' ? [] : [{ role: 'system' as const, content: request.system }]), { role: 'user' as const, content: prompt }]
      const chat = toBackendRequest({ model, messages, format: request.format, think: request.think }, sampling, stream, config)
      refuseUnhonouredOptions(chat, 'chat', backend)
      exchange.reserve(promptTokenBound(body, chat) + chat.max_tokens)
      const promptChars = prompt.length + (request.system?.length ?? 0)
      await answer(exchange, { stream, steps: chatSteps(backend.chat(chat, exchange.signal), request.think !== false), render, promptChars, startedNs })
    },
  }
}

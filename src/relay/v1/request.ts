import * as v from 'valibot'
import { ChatCompletionRequestSchema, CompletionRequestSchema, stopSequences, type CompletionRequest } from '../../shared/openai'
import type { BackendRequest, CompletionBackendRequest } from './backend'
import { badRequest } from './errors'
import { isKnownField, numericSampling } from './sampling'

export interface RequestCaps {
  maxMessages: number
  maxTokens: number
}

/** `body` as JSON checked against `schema`: 400 for malformed JSON or a violation, naming the field. */
function parseBody<TSchema extends v.GenericSchema>(schema: TSchema, body: string): v.InferOutput<TSchema> {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch (error) {
    throw badRequest(`malformed JSON in the request body: ${error instanceof Error ? error.message : String(error)}`, null, 'invalid_json')
  }
  const parsed = v.safeParse(schema, json)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const param = v.getDotPath(issue)
    throw badRequest(param === null ? issue.message : `${param}: ${issue.message}`, param)
  }
  return parsed.output
}

function checkMaxTokens(asked: number | null | undefined, param: string, caps: RequestCaps): void {
  if (asked != null && asked > caps.maxTokens) {
    throw badRequest(`${param} is ${asked}, at most ${caps.maxTokens} on this relay (RELAY_MAX_TOKENS)`, param, 'max_tokens_too_large')
  }
}

/**
 * Parses and checks a chat request body: 400 for malformed JSON, a schema violation (naming
 * the field), too many messages or `max_tokens` over the cap. `max_tokens` defaults to the cap.
 */
export function parseChatRequest(body: string, caps: RequestCaps): BackendRequest {
  const request = parseBody(ChatCompletionRequestSchema, body)
  if (request.messages.length > caps.maxMessages) {
    throw badRequest(`too many messages: ${request.messages.length}, at most ${caps.maxMessages} (RELAY_MAX_MESSAGES)`, 'messages', 'too_many_messages')
  }
  checkMaxTokens(request.max_tokens, 'max_tokens', caps)
  checkMaxTokens(request.max_completion_tokens, 'max_completion_tokens', caps)
  const checked = { ...request, max_tokens: request.max_tokens ?? request.max_completion_tokens ?? caps.maxTokens }
  checkToolFields(checked)
  return checked
}

/** `max_tokens` of a text completion without one: OpenAI's default (and vLLM's). */
export const defaultCompletionTokens = 16

/** A parsed `/v1/completions` body and what a backend gets of it. */
export interface ParsedCompletion {
  /** As the client sent it, checked (the sampling check reads its fields). */
  request: CompletionRequest
  backendRequest: CompletionBackendRequest
}

/**
 * Parses and checks a text completion body: 400 for malformed JSON, a schema violation (naming
 * the field) or `max_tokens` over the cap; `max_tokens` defaults to 16, as OpenAI's does. An
 * empty `suffix` is none: a completion at the end of the text.
 */
export function parseCompletionRequest(body: string, caps: RequestCaps): ParsedCompletion {
  const request = parseBody(CompletionRequestSchema, body)
  checkMaxTokens(request.max_tokens, 'max_tokens', caps)
  const prompt = typeof request.prompt === 'string' ? request.prompt : (request.prompt[0] ?? '')
  const extra = Object.fromEntries(Object.entries(request).filter(([field, value]) => value != null && !isKnownField('completion', field)))
  const backendRequest: CompletionBackendRequest = {
    model: request.model,
    prompt,
    ...(request.suffix == null || request.suffix === '' ? {} : { suffix: request.suffix }),
    max_tokens: Math.min(request.max_tokens ?? defaultCompletionTokens, caps.maxTokens),
    ...(request.temperature == null ? {} : { temperature: request.temperature }),
    ...(request.top_p == null ? {} : { top_p: request.top_p }),
    ...(request.seed == null ? {} : { seed: request.seed }),
    stop: stopSequences(request),
    sampling: numericSampling(request),
    ...(request.logit_bias == null ? {} : { logit_bias: request.logit_bias }),
    ...(Object.keys(extra).length === 0 ? {} : { extra }),
  }
  return { request, backendRequest }
}

/**
 * What every backend checks of the tool fields before anything runs: a forced tool_choice
 * names a tool that is offered, and `required` has tools to call.
 */
export function checkToolFields(request: BackendRequest): void {
  const tools = request.tools ?? []
  const choice = request.tool_choice
  if (choice === 'required' && tools.length === 0) throw badRequest('tool_choice is "required" but no tools are given', 'tool_choice')
  if (typeof choice === 'object' && choice !== null && !tools.some((tool) => tool.function.name === choice.function.name)) {
    throw badRequest(`tool_choice names the function ${JSON.stringify(choice.function.name)}, which is not among tools`, 'tool_choice')
  }
}

/** Tokens of chat-template markup a body's bytes might not cover (a generation prompt, a BOS). */
const templateSlackTokens = 32

/**
 * An upper bound of the prompt's tokens, for the budget's reservation: no tokenizer makes more
 * tokens than the bytes it reads, and the body's JSON spends more bytes on each message than a
 * chat template spends tokens on it.
 */
export function promptTokenBound(body: string, request: Pick<BackendRequest, 'messages'> | null = null): number {
  return Buffer.byteLength(body, 'utf8') + templateSlackTokens + (request?.messages.length ?? 0)
}

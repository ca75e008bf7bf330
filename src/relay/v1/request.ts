import * as v from 'valibot'
import { ChatCompletionRequestSchema } from '../../shared/openai'
import type { BackendRequest } from './backend'
import { badRequest } from './errors'

export interface RequestCaps {
  maxMessages: number
  maxTokens: number
}

/**
 * Parses and checks a chat request body: 400 for malformed JSON, a schema violation (naming
 * the field), too many messages or `max_tokens` over the cap. `max_tokens` defaults to the cap.
 */
export function parseChatRequest(body: string, caps: RequestCaps): BackendRequest {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch (error) {
    throw badRequest(`malformed JSON in the request body: ${error instanceof Error ? error.message : String(error)}`, null, 'invalid_json')
  }
  const parsed = v.safeParse(ChatCompletionRequestSchema, json)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const param = v.getDotPath(issue)
    throw badRequest(param === null ? issue.message : `${param}: ${issue.message}`, param)
  }
  const request = parsed.output
  if (request.messages.length > caps.maxMessages) {
    throw badRequest(`too many messages: ${request.messages.length}, at most ${caps.maxMessages} (RELAY_MAX_MESSAGES)`, 'messages', 'too_many_messages')
  }
  for (const param of ['max_tokens', 'max_completion_tokens'] as const) {
    const asked = request[param]
    if (asked != null && asked > caps.maxTokens) {
      throw badRequest(`${param} is ${asked}, at most ${caps.maxTokens} on this relay (RELAY_MAX_TOKENS)`, param, 'max_tokens_too_large')
    }
  }
  const checked = { ...request, max_tokens: request.max_tokens ?? request.max_completion_tokens ?? caps.maxTokens }
  checkToolFields(checked)
  return checked
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
export function promptTokenBound(body: string, request: BackendRequest): number {
  return Buffer.byteLength(body, 'utf8') + templateSlackTokens + request.messages.length
}

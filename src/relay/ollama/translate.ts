// An Ollama request as the relay's chat request: messages (calls get the ids OpenAI's shape
// needs, each tool result the id of the call it answers), tools, `format` as response_format,
// `think` as enable_thinking / reasoning_effort, `options` as sampling fields. It then goes
// through /v1's own parser, so caps and checks are the same on both APIs.
import * as v from 'valibot'
import type { BackendRequest } from '../v1/backend'
import { badRequest } from '../v1/errors'
import { parseChatRequest, type RequestCaps } from '../v1/request'
import type { Sampling } from './options'
import { OllamaChatRequestSchema, type OllamaChatRequest, type OllamaMessage } from './wire'

/** Parses a body with `schema`: 400 naming the field that is wrong. */
export function parseOllama<S extends v.GenericSchema>(schema: S, json: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, json)
  if (parsed.success) return parsed.output
  const issue = parsed.issues[0]
  const param = v.getDotPath(issue)
  throw badRequest(param === null ? issue.message : `${param}: ${issue.message}`, param)
}

export const parseChatBody = (json: unknown): OllamaChatRequest => parseOllama(OllamaChatRequestSchema, json)

/** Refuses what the relay's backends cannot do with a request (images, logprobs). */
export function refuseUnsupported(request: { logprobs?: boolean | null | undefined; top_logprobs?: number | null | undefined }, images: readonly (readonly string[] | null | undefined)[]): void {
  const at = images.findIndex((list) => list != null && list.length > 0)
  if (at !== -1) throw badRequest('images are not supported: the relay’s backends read text only', at === 0 && images.length === 1 ? 'images' : `messages.${at}.images`, 'unsupported_field')
  if (request.logprobs === true || (request.top_logprobs ?? 0) > 0) throw badRequest('logprobs are not supported by this relay', 'logprobs', 'unsupported_field')
}

/** OpenAI's messages for Ollama's: calls numbered across the conversation, results matched by name. */
function toOpenAiMessages(messages: readonly OllamaMessage[]): unknown[] {
  const unanswered: { id: string; name: string }[] = []
  let callNumber = 0
  return messages.map((message, index) => {
    const content = message.content ?? ''
    if (message.role === 'assistant' && message.tool_calls != null && message.tool_calls.length > 0) {
      const calls = message.tool_calls.map((call) => {
        callNumber += 1
        const id = `call_${callNumber}`
        unanswered.push({ id, name: call.function.name })
        return { id, type: 'function', function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments ?? {}) } }
      })
      return { role: 'assistant', content, tool_calls: calls }
    }
    if (message.role === 'tool') {
      const at = message.tool_name == null ? 0 : unanswered.findIndex((call) => call.name === message.tool_name)
      const call = unanswered[at]
      if (at === -1 || call === undefined) throw badRequest(`messages.${index}: a tool result that answers no call of an assistant message before it`, `messages.${index}`)
      unanswered.splice(at, 1)
      return { role: 'tool', content, tool_call_id: call.id }
    }
    // An assistant message's earlier `thinking` is not fed back: Qwen3's template drops it too.
    return { role: message.role, content }
  })
}

/** `format` as response_format: `"json"`, a JSON schema, or `""` for none. */
function responseFormatOf(format: OllamaChatRequest['format']): unknown {
  if (format == null || format === '') return undefined
  if (format === 'json') return { type: 'json_object' }
  if (typeof format === 'string') throw badRequest(`format must be "json" or a JSON schema, not ${JSON.stringify(format)}`, 'format')
  return { type: 'json_schema', json_schema: { name: 'ollama_format', schema: format, strict: true } }
}

/** `think` as the fields Qwen3's template and llama-server read; unset leaves the model's default. */
function thinkFields(think: OllamaChatRequest['think']): Record<string, unknown> {
  if (think == null) return {}
  if (typeof think === 'boolean') return { chat_template_kwargs: { enable_thinking: think } }
  return { chat_template_kwargs: { enable_thinking: true }, reasoning_effort: think }
}

/** `options` as the chat request's fields. */
export function samplingFields(sampling: Sampling): Record<string, unknown> {
  const { extra, contextTokens: _context, ...fields } = sampling
  return { ...fields, ...extra }
}

export interface ChatInput {
  model: string
  messages: readonly OllamaMessage[]
  tools?: OllamaChatRequest['tools']
  format?: OllamaChatRequest['format']
  think?: OllamaChatRequest['think']
}

/** The relay's chat request for an Ollama one, checked by /v1's parser (400 naming the field). */
export function toBackendRequest(input: ChatInput, sampling: Sampling, stream: boolean, caps: RequestCaps): BackendRequest {
  const body = {
    model: input.model,
    messages: toOpenAiMessages(input.messages),
    stream,
    ...(input.tools != null && input.tools.length > 0 ? { tools: input.tools.map((tool) => ({ ...tool, type: tool.type ?? 'function' })) } : {}),
    response_format: responseFormatOf(input.format),
    ...thinkFields(input.think),
    ...samplingFields(sampling),
  }
  if (sampling.max_tokens !== undefined && sampling.max_tokens > caps.maxTokens) {
    throw badRequest(`options.num_predict is ${sampling.max_tokens}, at most ${caps.maxTokens} on this relay (RELAY_MAX_TOKENS)`, 'options.num_predict', 'max_tokens_too_large')
  }
  return parseChatRequest(JSON.stringify(body), caps)
}

// A `POST /v1/responses` body (OpenAI's Responses API), checked and put as the chat request the
// backends take: `instructions` as the system turn, `input` (a string, or items: messages with
// text parts, function_call and function_call_output items) as the turns, the flat function tools
// as chat tools, `text.format` as response_format, `reasoning.effort` as reasoning_effort. The
// chat request is then checked as /v1/chat/completions checks one (caps, tool fields), its errors
// naming the Responses field. The relay keeps no state: `previous_response_id`, `conversation`
// and `background` are refused; `store` is accepted and nothing is stored (the answer says
// `store: false`). A field this list does not know is a 400 naming it.
import * as v from 'valibot'
import { reasoningEfforts, type ChatCompletionMessage } from '../../shared/openai'
import type { BackendRequest } from './backend'
import { ApiError, badRequest } from './errors'
import { parseChatRequest, type RequestCaps } from './request'

const maxTextChars = 1_000_000
const maxItems = 2_048
const Text = v.pipe(v.string(), v.maxLength(maxTextChars))
const Name = v.pipe(v.string(), v.maxLength(64))
const CallId = v.pipe(v.string(), v.minLength(1, 'a call_id is empty'), v.maxLength(256))

const TextPart = v.object(
  { type: v.picklist(['input_text', 'output_text'], 'a content part is input_text or output_text (this relay takes text only)'), text: Text },
  'a content part is { type, text }',
)

const MessageItem = v.object({
  type: v.optional(v.literal('message')),
  id: v.optional(v.string()),
  status: v.optional(v.string()),
  role: v.picklist(['user', 'assistant', 'system', 'developer'], 'role must be user, assistant, system or developer'),
  content: v.union([Text, v.pipe(v.array(TextPart), v.maxLength(256))], 'content must be a string or an array of input_text parts'),
})

const FunctionCallItem = v.object({
  type: v.literal('function_call'),
  id: v.optional(v.string()),
  status: v.optional(v.string()),
  call_id: CallId,
  name: Name,
  arguments: v.pipe(v.string(), v.maxLength(256 * 1024)),
})

const FunctionCallOutputItem = v.object({
  type: v.literal('function_call_output'),
  id: v.optional(v.nullable(v.string())),
  status: v.optional(v.nullable(v.string())),
  call_id: CallId,
  output: v.union([Text, v.pipe(v.array(TextPart), v.maxLength(256))], 'output must be a string or an array of input_text parts'),
})

/** A reasoning item a client hands back from an earlier answer: dropped, as Qwen3's template drops earlier thinking. */
const ReasoningItem = v.looseObject({ type: v.literal('reasoning') })

const InputItem = v.union([MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningItem], 'an input item is a message, a function_call, a function_call_output or a reasoning item')
type InputItem = v.InferOutput<typeof InputItem>

const FunctionTool = v.object(
  {
    type: v.literal('function', 'this relay offers function tools only'),
    name: Name,
    description: v.optional(v.nullable(v.string())),
    parameters: v.optional(v.nullable(v.record(v.string(), v.unknown()))),
    strict: v.optional(v.nullable(v.boolean())),
  },
  'a tool is { type: "function", name, parameters }',
)

const ToolChoice = v.union([v.picklist(['none', 'auto', 'required']), v.object({ type: v.literal('function'), name: Name })], 'tool_choice must be none, auto, required or { type: "function", name }')

const TextFormat = v.variant(
  'type',
  [
    v.object({ type: v.literal('text') }),
    v.object({ type: v.literal('json_object') }),
    v.object({ type: v.literal('json_schema'), name: Name, schema: v.record(v.string(), v.unknown()), description: v.optional(v.string()), strict: v.optional(v.nullable(v.boolean())) }),
  ],
  'text.format.type must be text, json_object or json_schema',
)

/** `include` values that ask for nothing this relay would leave out: the reasoning is sent in the clear, so there is nothing encrypted to include. */
const includable = ['reasoning.encrypted_content'] as const

const ResponsesRequestSchema = v.object({
  model: v.pipe(v.string('model is required'), v.minLength(1, 'model is empty'), v.maxLength(256)),
  input: v.union([Text, v.pipe(v.array(InputItem), v.minLength(1, 'input is empty'), v.maxLength(maxItems))], 'input must be a string or an array of items'),
  instructions: v.optional(v.nullable(Text)),
  tools: v.optional(v.nullable(v.pipe(v.array(FunctionTool), v.maxLength(128)))),
  tool_choice: v.optional(v.nullable(ToolChoice)),
  parallel_tool_calls: v.optional(v.nullable(v.boolean())),
  max_output_tokens: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1)))),
  temperature: v.optional(v.nullable(v.number())),
  top_p: v.optional(v.nullable(v.number())),
  text: v.optional(v.nullable(v.object({ format: v.optional(v.nullable(TextFormat)), verbosity: v.optional(v.nullable(v.literal('medium', 'text.verbosity: only medium is supported'))) }))),
  reasoning: v.optional(
    v.nullable(
      v.object({
        effort: v.optional(v.nullable(v.picklist(reasoningEfforts, 'reasoning.effort must be none, minimal, low, medium or high'))),
        // The thinking comes whole, as reasoning_text; there is no summary to give. Accepted so that
        // clients that always ask (Codex) can use the relay.
        summary: v.optional(v.nullable(v.picklist(['auto', 'concise', 'detailed']))),
      }),
    ),
  ),
  stream: v.optional(v.nullable(v.boolean())),
  store: v.optional(v.nullable(v.boolean())),
  include: v.optional(v.nullable(v.array(v.picklist(includable, `include: this relay takes only ${includable.join(', ')}`)))),
  metadata: v.optional(
    v.nullable(
      v.pipe(
        v.record(v.pipe(v.string(), v.maxLength(64)), v.pipe(v.string(), v.maxLength(512))),
        v.check((record) => Object.keys(record).length <= 16, 'metadata has at most 16 keys'),
      ),
    ),
  ),
  truncation: v.optional(v.nullable(v.literal('disabled', 'truncation: only disabled is supported (a prompt too long for the model is a 400)'))),
  user: v.optional(v.pipe(v.string(), v.maxLength(256))),
  safety_identifier: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
  prompt_cache_key: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
  service_tier: v.optional(v.nullable(v.picklist(['auto', 'default'], 'service_tier: this relay has one tier (auto or default)'))),
})
export type ResponsesRequest = v.InferOutput<typeof ResponsesRequestSchema>

/** Fields a stateless relay cannot honour, each with why. */
const refusedFields: Readonly<Record<string, string>> = {
  previous_response_id: 'this relay keeps no responses: send the whole conversation in input',
  conversation: 'this relay keeps no conversations: send the whole conversation in input',
  background: 'this relay answers while the request is open; it runs nothing in the background',
  prompt: 'this relay keeps no prompt templates',
}

/** Chat request fields and the Responses fields they came from, for errors found on the chat request. */
const fieldOfChatParam: readonly [RegExp, string][] = [
  [/^messages(\..*)?$/, 'input'],
  [/^max_tokens$/, 'max_output_tokens'],
  [/^tools\.(\d+)\.function\.(.+)$/, 'tools.$1.$2'],
  [/^tool_choice\.function\.name$/, 'tool_choice.name'],
  [/^response_format\.json_schema\.(.+)$/, 'text.format.$1'],
  [/^response_format$/, 'text.format'],
  [/^reasoning_effort$/, 'reasoning.effort'],
]

function responsesParam(param: string | null): string | null {
  if (param === null) return null
  for (const [pattern, field] of fieldOfChatParam) if (pattern.test(param)) return param.replace(pattern, field)
  return param
}

/** `error` with its field named as the Responses API names it. */
function asResponsesError(error: unknown): unknown {
  if (!(error instanceof ApiError) || error.param === null) return error
  const param = responsesParam(error.param)
  if (param === error.param) return error
  const renamed = new ApiError(error.status, error.message.split(error.param).join(param ?? ''), error.type, error.code, param, error.headers)
  renamed.detail = error.detail
  return renamed
}

const partsText = (content: string | readonly { text: string }[]): string => (typeof content === 'string' ? content : content.map((part) => part.text).join(''))

/** The items as chat messages: a function_call joins the assistant turn before it, as a chat turn holds its calls. */
function messagesOf(instructions: string | null | undefined, input: string | readonly InputItem[]): ChatCompletionMessage[] {
  const messages: ChatCompletionMessage[] = instructions == null || instructions === '' ? [] : [{ role: 'system', content: instructions }]
  if (typeof input === 'string') return [...messages, { role: 'user', content: input }]
  for (const item of input) {
    if (item.type === 'reasoning') continue
    if (item.type === 'function_call') {
      const call = { id: item.call_id, type: 'function' as const, function: { name: item.name, arguments: item.arguments } }
      const last = messages.at(-1)
      if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call]
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] })
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', content: partsText(item.output), tool_call_id: item.call_id })
    } else {
      messages.push({ role: item.role, content: partsText(item.content) })
    }
  }
  return messages
}

function refuseUnknownFields(json: unknown): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw badRequest('the request body must be a JSON object')
  for (const field of Object.keys(json)) {
    const why = refusedFields[field]
    if (why !== undefined && (json as Record<string, unknown>)[field] != null) throw badRequest(`${field}: ${why}`, field, 'unsupported_parameter')
    if (why === undefined && !(field in ResponsesRequestSchema.entries)) throw badRequest(`unknown field ${JSON.stringify(field)}: this relay does not support it`, field, 'unknown_parameter')
  }
}

/** Parses a Responses body and puts it as the chat request the backends take (caps checked as chat's are). */
export function parseResponsesRequest(json: unknown, caps: RequestCaps): { request: ResponsesRequest; chat: BackendRequest } {
  refuseUnknownFields(json)
  const parsed = v.safeParse(ResponsesRequestSchema, json)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const param = v.getDotPath(issue)
    throw badRequest(param === null ? issue.message : `${param}: ${issue.message}`, param)
  }
  const request = parsed.output
  const format = request.text?.format
  const choice = request.tool_choice
  const chat = {
    model: request.model,
    messages: messagesOf(request.instructions, request.input),
    ...(request.max_output_tokens == null ? {} : { max_tokens: request.max_output_tokens }),
    ...(request.temperature == null ? {} : { temperature: request.temperature }),
    ...(request.top_p == null ? {} : { top_p: request.top_p }),
    ...(request.tools == null || request.tools.length === 0
      ? {}
      : {
          tools: request.tools.map((tool) => ({
            type: 'function',
            function: { name: tool.name, ...(tool.description == null ? {} : { description: tool.description }), ...(tool.parameters == null ? {} : { parameters: tool.parameters }) },
          })),
        }),
    ...(choice == null ? {} : { tool_choice: typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } } }),
    ...(format == null
      ? {}
      : {
          response_format:
            format.type === 'json_schema' ? { type: 'json_schema', json_schema: { name: format.name, schema: format.schema, ...(format.strict == null ? {} : { strict: format.strict }) } } : format,
        }),
    ...(request.reasoning?.effort == null ? {} : { reasoning_effort: request.reasoning.effort }),
  }
  try {
    return { request, chat: parseChatRequest(JSON.stringify(chat), caps) }
  } catch (error) {
    throw asResponsesError(error)
  }
}

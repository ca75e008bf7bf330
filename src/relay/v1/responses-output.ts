// A backend's chat chunks (thinking already split out) as a Responses API answer: the `response`
// object and, for a stream, its events in the order OpenAI sends them. The output items: a
// `reasoning` item (its text as `reasoning_text` content) while the model thinks, a `message` with
// one `output_text` part for the answer, a `function_call` per call. Each item is added, streamed
// and done before the next is added; every event carries the next `sequence_number`.
import type { ChatCompletionChunk, FinishReason, Usage, WireToolCallDelta } from '../../shared/openai'
import type { ApiError } from './errors'
import type { ResponsesRequest } from './responses-request'

type ItemStatus = 'in_progress' | 'completed' | 'incomplete'

export type OutputItem =
  | { type: 'reasoning'; id: string; summary: []; content: { type: 'reasoning_text'; text: string }[]; status: ItemStatus }
  | { type: 'message'; id: string; status: ItemStatus; role: 'assistant'; content: { type: 'output_text'; text: string; annotations: []; logprobs: [] }[] }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: ItemStatus }

export interface ResponseUsage {
  input_tokens: number
  input_tokens_details: { cached_tokens: number }
  output_tokens: number
  output_tokens_details: { reasoning_tokens: number }
  total_tokens: number
}

export interface ResponseObject {
  id: string
  object: 'response'
  created_at: number
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed'
  error: { code: string; message: string } | null
  incomplete_details: { reason: 'max_output_tokens' } | null
  instructions: string | null
  max_output_tokens: number | null
  model: string
  output: OutputItem[]
  parallel_tool_calls: boolean
  previous_response_id: null
  reasoning: { effort: string | null; summary: string | null }
  store: false
  temperature: number | null
  text: { format: unknown }
  tool_choice: unknown
  tools: unknown[]
  top_p: number | null
  truncation: 'disabled'
  usage: ResponseUsage | null
  metadata: Record<string, string>
  user?: string
}

/** One streamed event: its `type` and its fields; `sequence_number` is set as it is made. */
export type ResponseEvent = { type: string; sequence_number: number } & Record<string, unknown>

const hexId = (prefix: string): string => `${prefix}_${crypto.randomUUID().replaceAll('-', '')}`

/** The response as it stands before any output: the request's settings echoed, as OpenAI does. */
function initialResponse(request: ResponsesRequest, model: string): ResponseObject {
  return {
    id: hexId('resp'),
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: request.temperature ?? null,
    text: { format: request.text?.format ?? { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: (request.tools ?? []).map((tool) => ({ ...tool, strict: tool.strict ?? false })),
    top_p: request.top_p ?? null,
    truncation: 'disabled',
    usage: null,
    metadata: request.metadata ?? {},
    ...(request.user === undefined ? {} : { user: request.user }),
  }
}

/** The response's usage from the chat usage; the thinking's share estimated from its characters. */
function responseUsage(usage: Usage, reasoningChars: number, outputChars: number): ResponseUsage {
  const reasoningTokens = outputChars === 0 ? 0 : Math.round((usage.completion_tokens * reasoningChars) / outputChars)
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
  }
}

export interface ResponseBuilder {
  /** response.created and response.in_progress. */
  start(): ResponseEvent[]
  /** The events for one chat chunk. */
  push(chunk: ChatCompletionChunk): ResponseEvent[]
  /** The open item done, then response.completed (or response.incomplete at max_output_tokens). */
  finish(usage: Usage): ResponseEvent[]
  /** The open item cut short, then an error event and response.failed. */
  fail(error: ApiError): ResponseEvent[]
  /** The response as it stands. */
  readonly response: ResponseObject
}

/**
 * Builds the answer to `request` from its chat chunks. `parallel_tool_calls: false` keeps the
 * first call only: the model may write several, the client asked for one.
 */
export function createResponseBuilder(request: ResponsesRequest, model: string): ResponseBuilder {
  const response = initialResponse(request, model)
  let sequence = 0
  let finish: FinishReason = 'stop'
  const chars = { reasoning: 0, output: 0 }
  const singleCall = request.parallel_tool_calls === false
  /** The item being streamed, and for calls their chat index. */
  let open: { item: OutputItem; index: number; callIndex: number | null } | null = null
  const seenCalls = new Set<number>()

  const event = (type: string, fields: Record<string, unknown>): ResponseEvent => ({ type, sequence_number: sequence++, ...fields })
  const snapshot = (): ResponseObject => structuredClone(response)

  function close(status: ItemStatus): ResponseEvent[] {
    if (open === null) return []
    const { item, index } = open
    open = null
    item.status = status
    const at = { item_id: item.id, output_index: index }
    const events: ResponseEvent[] = []
    if (item.type === 'reasoning') {
      const part = item.content[0] ?? { type: 'reasoning_text', text: '' }
      events.push(event('response.reasoning_text.done', { ...at, content_index: 0, text: part.text }), event('response.content_part.done', { ...at, content_index: 0, part: structuredClone(part) }))
    } else if (item.type === 'message') {
      const part = item.content[0] ?? { type: 'output_text', text: '', annotations: [], logprobs: [] }
      events.push(
        event('response.output_text.done', { ...at, content_index: 0, text: part.text, logprobs: [] }),
        event('response.content_part.done', { ...at, content_index: 0, part: structuredClone(part) }),
      )
    } else {
      events.push(event('response.function_call_arguments.done', { ...at, name: item.name, arguments: item.arguments }))
    }
    events.push(event('response.output_item.done', { output_index: index, item: structuredClone(item) }))
    return events
  }

  function openItem(item: OutputItem, callIndex: number | null = null): ResponseEvent[] {
    const events = close('completed')
    const index = response.output.length
    response.output.push(item)
    open = { item, index, callIndex }
    events.push(event('response.output_item.added', { output_index: index, item: structuredClone(item) }))
    const at = { item_id: item.id, output_index: index, content_index: 0 }
    if (item.type === 'reasoning') {
      item.content.push({ type: 'reasoning_text', text: '' })
      events.push(event('response.content_part.added', { ...at, part: { type: 'reasoning_text', text: '' } }))
    } else if (item.type === 'message') {
      item.content.push({ type: 'output_text', text: '', annotations: [], logprobs: [] })
      events.push(event('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } }))
    }
    return events
  }

  function reasoning(text: string): ResponseEvent[] {
    chars.reasoning += text.length
    chars.output += text.length
    const events = open?.item.type === 'reasoning' ? [] : openItem({ type: 'reasoning', id: hexId('rs'), summary: [], content: [], status: 'in_progress' })
    const item = open?.item
    if (item?.type !== 'reasoning' || item.content[0] === undefined) return events
    item.content[0].text += text
    events.push(event('response.reasoning_text.delta', { item_id: item.id, output_index: open?.index, content_index: 0, delta: text }))
    return events
  }

  function text(delta: string): ResponseEvent[] {
    chars.output += delta.length
    const events = open?.item.type === 'message' ? [] : openItem({ type: 'message', id: hexId('msg'), status: 'in_progress', role: 'assistant', content: [] })
    const item = open?.item
    if (item?.type !== 'message' || item.content[0] === undefined) return events
    item.content[0].text += delta
    events.push(event('response.output_text.delta', { item_id: item.id, output_index: open?.index, content_index: 0, delta, logprobs: [] }))
    return events
  }

  function call(delta: WireToolCallDelta): ResponseEvent[] {
    const events: ResponseEvent[] = []
    const isNew = !seenCalls.has(delta.index)
    if (isNew) {
      if (singleCall && seenCalls.size > 0) return []
      seenCalls.add(delta.index)
      const name = delta.function?.name ?? ''
      events.push(...openItem({ type: 'function_call', id: hexId('fc'), call_id: delta.id ?? hexId('call'), name, arguments: '', status: 'in_progress' }, delta.index))
    }
    const item = open?.item
    // Pieces of a call that is no longer the open one (or was left out) are not OpenAI's order: dropped.
    if (item?.type !== 'function_call' || open?.callIndex !== delta.index) return events
    if (!isNew && delta.function?.name) item.name += delta.function.name
    const args = delta.function?.arguments ?? ''
    chars.output += args.length
    if (args === '') return events
    item.arguments += args
    events.push(event('response.function_call_arguments.delta', { item_id: item.id, output_index: open.index, delta: args }))
    return events
  }

  return {
    response,
    start: () => [event('response.created', { response: snapshot() }), event('response.in_progress', { response: snapshot() })],
    push(chunk) {
      const events: ResponseEvent[] = []
      for (const choice of chunk.choices.filter((each) => each.index === 0)) {
        if (choice.delta.reasoning_content) events.push(...reasoning(choice.delta.reasoning_content))
        if (choice.delta.content) events.push(...text(choice.delta.content))
        for (const delta of choice.delta.tool_calls ?? []) events.push(...call(delta))
        if (choice.finish_reason !== null) finish = choice.finish_reason
      }
      return events
    },
    finish(usage) {
      const cut = finish === 'length'
      const events = close(cut ? 'incomplete' : 'completed')
      response.status = cut ? 'incomplete' : 'completed'
      response.incomplete_details = cut ? { reason: 'max_output_tokens' } : null
      response.usage = responseUsage(usage, chars.reasoning, chars.output)
      events.push(event(cut ? 'response.incomplete' : 'response.completed', { response: snapshot() }))
      return events
    },
    fail(error) {
      const events = close('incomplete')
      response.status = 'failed'
      response.error = { code: error.code ?? 'server_error', message: error.message }
      events.push(event('error', { code: error.code, message: error.message, param: error.param }), event('response.failed', { response: snapshot() }))
      return events
    },
  }
}

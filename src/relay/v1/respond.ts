// Turns a backend's chunks into the HTTP answer: SSE when streaming, else one chat.completion.
import { once } from 'node:events'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { messageText, roughUsage, type ChatCompletion, type ChatCompletionChunk, type FinishReason, type Usage, type WireToolCall, type WireToolCallDelta } from '../../shared/openai'
import { sseEvent } from '../../shared/sse'
import type { BackendRequest } from './backend'
import { toApiError } from './errors'
import { sendV1Json } from './http'

export interface Answered {
  usage: Usage
  /** Milliseconds from the call to the first chunk written; null when not streamed. */
  firstChunkMs: number | null
}

/**
 * What a request was served, counted chunk by chunk as they come from the backend (and go to
 * the client), so a stream the client aborts or the backend breaks is still charged.
 */
export interface Meter {
  /** Chunks the backend sent. */
  chunks: number
  /** Those that carried text. */
  textChunks: number
  completionChars: number
  /** The backend's own count, from its usage chunk; null until (or unless) it came. */
  reported: Usage | null
}

export function createMeter(): Meter {
  return { chunks: 0, textChunks: 0, completionChars: 0, reported: null }
}

/** Counts `chunk` into `meter`: a call's name and arguments, and the thinking, are text the model wrote, and charged as such. */
export function meterChunk(meter: Meter, chunk: ChatCompletionChunk): void {
  meter.chunks += 1
  if (chunk.usage) meter.reported = chunk.usage
  for (const { delta } of chunk.choices) {
    const callChars = (delta.tool_calls ?? []).reduce((sum, call) => sum + (call.function?.name?.length ?? 0) + (call.function?.arguments?.length ?? 0), 0)
    const chars = (delta.content?.length ?? 0) + (delta.reasoning_content?.length ?? 0) + callChars
    meter.completionChars += chars
    if (chars > 0) meter.textChunks += 1
  }
}

/** The characters of a chat request's prompt, for a rough count. */
const promptCharsOf = (request: BackendRequest): number => request.messages.reduce((sum, message) => sum + messageText(message).length, 0)

/**
 * What to charge for a request: the backend's count when it gave one, else an estimate of the
 * prompt and of the text served (at least a token per text chunk); nothing when no chunk came
 * (the backend never started).
 */
export function chargedUsage(request: BackendRequest, meter: Meter): Usage {
  return chargedFor(promptCharsOf(request), meter)
}

/** chargedUsage for a prompt of `promptChars` characters (a text completion's). */
export function chargedFor(promptChars: number, meter: Meter): Usage {
  if (meter.reported !== null) return meter.reported
  if (meter.chunks === 0) return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
  const estimate = roughUsage(promptChars, meter.completionChars)
  const completion = Math.max(estimate.completion_tokens, meter.textChunks)
  return { prompt_tokens: estimate.prompt_tokens, completion_tokens: completion, total_tokens: estimate.prompt_tokens + completion }
}

const finishReasons: readonly string[] = ['stop', 'length', 'tool_calls'] satisfies FinishReason[]
export const finishReasonOf = (reason: string): FinishReason => (finishReasons.includes(reason) ? (reason as FinishReason) : 'stop')

/** The calls of a non-streamed answer, put together from their streamed pieces by index. */
function toolCallCollector() {
  const calls = new Map<number, WireToolCall>()
  return {
    add(delta: WireToolCallDelta): void {
      const call = calls.get(delta.index) ?? { id: '', type: 'function' as const, function: { name: '', arguments: '' } }
      if (delta.id) call.id = delta.id
      if (delta.function?.name) call.function.name += delta.function.name
      if (delta.function?.arguments) call.function.arguments += delta.function.arguments
      calls.set(delta.index, call)
    },
    calls: (): WireToolCall[] => [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call),
  }
}

export async function write(res: ServerResponse, text: string): Promise<void> {
  if (res.destroyed || res.writableEnded) return
  if (!res.write(text)) await Promise.race([once(res, 'drain'), once(res, 'close')])
}

/** The answer's message: calls with no text have content null, as OpenAI sends them; thinking, when there was some, in `reasoning_content`. */
function messageOf(content: string, reasoning: string, calls: WireToolCall[]): ChatCompletion['choices'][0]['message'] {
  const thought = reasoning === '' ? {} : { reasoning_content: reasoning }
  if (calls.length === 0) return { role: 'assistant', content, ...thought }
  return { role: 'assistant', content: content === '' ? null : content, ...thought, tool_calls: calls }
}

/**
 * Answers `request` from `chunks`. Errors before the first chunk throw (the caller sends
 * them with their status); an error mid-stream goes out as an SSE `error` event.
 */
export async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  request: BackendRequest,
  chunks: AsyncIterable<ChatCompletionChunk>,
  headers: OutgoingHttpHeaders,
  meter: Meter = createMeter(),
): Promise<Answered> {
  const startedMs = Date.now()
  const iterator = chunks[Symbol.asyncIterator]()
  const first = await iterator.next()
  const streaming = request.stream === true
  // Only a single chat.completion needs the whole text; a stream's text goes out as it comes.
  let content = ''
  let reasoning = ''
  let finishReason: FinishReason = 'stop'
  const toolCalls = toolCallCollector()
  let id = `chatcmpl-${crypto.randomUUID()}`
  let created = Math.floor(Date.now() / 1000)
  const take = (chunk: ChatCompletionChunk): boolean => {
    id = chunk.id
    created = chunk.created
    meterChunk(meter, chunk)
    for (const choice of chunk.choices) {
      if (!streaming) {
        content += choice.delta.content ?? ''
        reasoning += choice.delta.reasoning_content ?? ''
        for (const call of choice.delta.tool_calls ?? []) toolCalls.add(call)
      }
      if (choice.finish_reason != null) finishReason = finishReasonOf(choice.finish_reason)
    }
    return chunk.choices.length > 0
  }

  if (!streaming) {
    for (let step = first; step.done !== true; step = await iterator.next()) take(step.value)
    const finalUsage = meter.reported ?? roughUsage(promptCharsOf(request), meter.completionChars)
    const completion: ChatCompletion = {
      id,
      object: 'chat.completion',
      created,
      model: request.model,
      choices: [{ index: 0, message: messageOf(content, reasoning, toolCalls.calls()), finish_reason: finishReason, logprobs: null }],
      usage: finalUsage,
    }
    sendV1Json(req, res, 200, completion, headers)
    return { usage: finalUsage, firstChunkMs: null }
  }

  return streamEvents(res, headers, first, iterator, {
    startedMs,
    // The usage chunk goes out only when asked for, as the last one, as OpenAI does.
    event: (chunk) => (take(chunk) ? (chunk.usage === undefined ? chunk : { ...chunk, usage: null }) : null),
    usage: () => meter.reported ?? roughUsage(promptCharsOf(request), meter.completionChars),
    usageEvent: (usage) => (request.stream_options?.include_usage === true ? { id, object: 'chat.completion.chunk', created, model: request.model, choices: [], usage } : null),
  })
}

export interface EventsOfStream<C> {
  startedMs: number
  /** What to send for a chunk (it is metered here); null: nothing. */
  event(chunk: C): object | null
  /** What the answer cost, once the chunks have ended. */
  usage(): Usage
  /** The usage chunk to send last; null: not asked for. */
  usageEvent(usage: Usage): object | null
}

/**
 * Sends the chunks as server-sent events, then the usage chunk when asked for and `[DONE]`.
 * An error mid-stream goes out as an SSE `error` event, then throws.
 */
export async function streamEvents<C>(res: ServerResponse, headers: OutgoingHttpHeaders, first: IteratorResult<C>, iterator: AsyncIterator<C>, events: EventsOfStream<C>): Promise<Answered> {
  res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' })
  res.flushHeaders()
  const firstChunkMs = Date.now() - events.startedMs
  try {
    for (let step = first; step.done !== true; step = await iterator.next()) {
      const event = events.event(step.value)
      if (event !== null) await write(res, sseEvent(JSON.stringify(event)))
    }
  } catch (error) {
    if (res.destroyed) throw error
    await write(res, sseEvent(JSON.stringify(toApiError(error).toBody())))
    res.end()
    throw error
  }
  const finalUsage = events.usage()
  const usageEvent = events.usageEvent(finalUsage)
  if (usageEvent !== null) await write(res, sseEvent(JSON.stringify(usageEvent)))
  await write(res, sseEvent('[DONE]'))
  res.end()
  return { usage: finalUsage, firstChunkMs }
}

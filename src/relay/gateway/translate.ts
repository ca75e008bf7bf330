// Between /v1 and the room's market: an OpenAI request as a task's chat request, and a task's
// events as OpenAI chunks (content, then a finish reason, then usage).
import * as v from 'valibot'
import { ChatRequestSchema, type ChatRequest } from '../../inference/types'
import { AbortError } from '../../shared/errors'
import { chunkBuilder, messageText, roughUsage, stopSequences, type ChatCompletionChunk, type ChatCompletionMessage, type FinishReason, type Usage } from '../../shared/openai'
import type { TaskEvent, TaskHandle } from '../../market'
import { taskEventText } from '../../market/task-chunks'
import type { BackendRequest } from '../v1/backend'
import { ApiError, badRequest } from '../v1/errors'
import { refuseOtherTemplateKwargs, thinkingAsked } from '../v1/reasoning'
import { createToolOutput, offeredNames } from '../v1/tool-output'

/** A message as the market's ChatRequest has it: tool calls and tool answers kept, text parts joined. */
function taskMessage(message: ChatCompletionMessage): Record<string, unknown> {
  const content = messageText(message)
  if (message.role === 'tool') return { role: 'tool', content, tool_call_id: message.tool_call_id }
  if (message.role === 'assistant' && message.tool_calls != null && message.tool_calls.length > 0) {
    return { role: 'assistant', content, tool_calls: message.tool_calls.map(({ id, type, function: fn }) => ({ id, type, function: { name: fn.name, arguments: fn.arguments } })) }
  }
  return { role: message.role === 'developer' ? 'system' : message.role, content }
}

/**
 * Whether the browser nodes should think: they take Qwen3's switch alone, so of the efforts
 * only `none` (off) and `high` (the model's full thinking) can be honoured.
 */
function nodeThinking(request: BackendRequest): { enable_thinking?: boolean } {
  refuseOtherTemplateKwargs(request, "swarm's browser nodes")
  const asked = thinkingAsked(request)
  if (asked.think && asked.effort !== null && asked.effort !== 'high') {
    throw badRequest(
      `reasoning_effort ${JSON.stringify(asked.effort)}: the swarm's browser nodes think fully or not at all; send "high", "none" or enable_thinking`,
      'reasoning_effort',
      'unsupported_value',
    )
  }
  const explicit = request.enable_thinking ?? request.chat_template_kwargs?.enable_thinking ?? request.reasoning_effort ?? null
  return explicit === null ? {} : { enable_thinking: asked.think }
}

/** The request as browser nodes take it; what they cannot honour is a 400 that says so. */
export function toTaskRequest(request: BackendRequest): ChatRequest {
  const candidate = {
    messages: request.messages.map(taskMessage),
    max_tokens: request.max_tokens,
    ...(request.temperature == null ? {} : { temperature: request.temperature }),
    ...(request.top_p == null ? {} : { top_p: request.top_p }),
    ...(request.seed == null ? {} : { seed: request.seed }),
    ...(stopSequences(request).length === 0 ? {} : { stop: stopSequences(request) }),
    ...(request.tools == null || request.tools.length === 0 ? {} : { tools: request.tools }),
    ...(request.tool_choice == null ? {} : { tool_choice: request.tool_choice }),
    ...(request.response_format == null ? {} : { response_format: request.response_format }),
    ...nodeThinking(request),
  }
  const parsed = v.safeParse(ChatRequestSchema, candidate)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const where = issue.path?.map((item) => String(item.key)).join('.') ?? 'request'
    throw badRequest(`the swarm's browser nodes cannot take this request: ${where}: ${issue.message}`, where.split('.')[0] ?? null)
  }
  return parsed.output
}

const promptChars = (request: ChatRequest): number => request.messages.reduce((sum, message) => sum + message.content.length, 0)

/** Template markup a prompt's bytes might not cover (role markers, a generation prompt). */
const templateTokensPerMessage = 8

/**
 * The usage to charge for a task. The executor is a peer of the room and may lie, so what it
 * reports is held to what can be checked: no tokenizer makes more tokens than the bytes it
 * reads, so completion tokens are at most the bytes streamed (and max_tokens), and prompt
 * tokens at most the prompt's bytes and its template. Without a report: a rough estimate.
 */
export function clampedUsage(reported: Usage | null | undefined, request: ChatRequest, streamedText: { chars: number; bytes: number }): Usage {
  if (reported == null) return roughUsage(promptChars(request), streamedText.chars)
  const promptBound = request.messages.reduce((sum, message) => sum + new TextEncoder().encode(message.content).byteLength + templateTokensPerMessage, templateTokensPerMessage)
  const whole = (value: number): number => (Number.isFinite(value) && value > 0 ? Math.floor(value) : 0)
  const prompt_tokens = Math.min(whole(reported.prompt_tokens), promptBound)
  const completion_tokens = Math.min(whole(reported.completion_tokens), streamedText.bytes, request.max_tokens ?? Number.POSITIVE_INFINITY)
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens }
}

/**
 * The task failed in the room (no bid in time, its executors all gone): the client's 503. The
 * error's own words may carry a peer's reason, so they go to the log, not to the client.
 */
export function taskFailed(error: Error): ApiError {
  const failure = new ApiError(503, `the swarm could not answer (${error.name}); the relay's log has the details`, 'server_error', 'swarm_task_failed')
  failure.detail = error.message
  return failure
}

/** A whole answer's text, calls in Qwen3's format, as content and tool_call chunks. */
function structuredCalls(chunks: ReturnType<typeof chunkBuilder>, request: ChatRequest, text: string, finish: 'stop' | 'length'): { chunks: ChatCompletionChunk[]; finish: FinishReason } {
  const output = createToolOutput(chunks, { first: true, offered: offeredNames(request) })
  const pushed = output.push(text)
  const ended = output.end(finish)
  return { chunks: [...pushed, ...ended.chunks], finish: ended.finish }
}

/**
 * The task's answer as OpenAI chunks for `model`. Aborting `signal` cancels the task and ends
 * the stream with an AbortError at once, whatever the market does next.
 */
export async function* chunksOfTask(handle: TaskHandle, request: ChatRequest, model: string, signal: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
  const chunks = chunkBuilder(model, `chatcmpl-${handle.id}`)
  const events = handle.chunks[Symbol.asyncIterator]()
  const onAbort = (): void => handle.cancel()
  signal.addEventListener('abort', onAbort, { once: true })
  const aborted = new Promise<never>((_resolve, reject) => {
    const stop = (): void => reject(new AbortError('the client went away'))
    if (signal.aborted) stop()
    else signal.addEventListener('abort', stop, { once: true })
  })
  aborted.catch(() => undefined)
  let finished = false
  const streamed = { chars: 0, bytes: 0 }
  const encoder = new TextEncoder()
  // The executor's text carries calls in Qwen3's format: they become tool_call deltas here. A
  // structured answer (calls, JSON) is taken whole from the signed result, never from the
  // stream, where a restart's notice could land in the middle of it.
  const offered = (request.tools?.length ?? 0) > 0 && request.tool_choice !== 'none'
  const structured = offered || (request.response_format !== undefined && request.response_format.type !== 'text')
  try {
    // No chunk before the first text: a failure until then is still an HTTP status, not SSE.
    let first = true
    for (;;) {
      let next: IteratorResult<TaskEvent>
      try {
        next = await Promise.race([events.next(), aborted])
      } catch (error) {
        throw error instanceof AbortError || !(error instanceof Error) ? error : taskFailed(error)
      }
      if (next.done) break
      if (structured) continue
      const text = taskEventText(next.value)
      streamed.chars += text.length
      streamed.bytes += encoder.encode(text).byteLength
      yield chunks.content(text, first)
      first = false
    }
    const result = await Promise.race([handle.result, aborted]).catch((error: unknown) => {
      throw error instanceof AbortError || !(error instanceof Error) ? error : taskFailed(error)
    })
    finished = true
    const finish = result.finish === 'length' ? 'length' : 'stop'
    let end: { chunks: ChatCompletionChunk[]; finish: FinishReason } = { chunks: [], finish }
    if (structured) {
      streamed.chars = result.text.length
      streamed.bytes = encoder.encode(result.text).byteLength
      end = offered ? structuredCalls(chunks, request, result.text, finish) : { chunks: result.text === '' ? [] : [chunks.content(result.text, true)], finish }
    }
    // The first chunk names the role: a held answer's content chunk does, its calls do not.
    if (first && end.chunks[0]?.choices[0]?.delta.role !== 'assistant') yield chunks.role()
    yield* end.chunks
    yield chunks.finish(end.finish)
    yield chunks.usage(clampedUsage(result.usage, request, streamed))
  } finally {
    signal.removeEventListener('abort', onAbort)
    // A consumer that stops early (the client went away, a write failed) calls the task off.
    if (!finished) handle.cancel()
    void events.return?.()
  }
}

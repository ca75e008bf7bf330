// Between /v1 and the room's market: an OpenAI request as a task's chat request, and a task's
// events as OpenAI chunks (content, then a finish reason, then usage).
import * as v from 'valibot'
import { ChatRequestSchema, type ChatRequest } from '../../inference/types'
import { AbortError } from '../../shared/errors'
import { chunkBuilder, messageText, roughUsage, stopSequences, type ChatCompletionChunk, type Usage } from '../../shared/openai'
import type { TaskEvent, TaskHandle } from '../../swarm/market'
import { taskEventText } from '../../swarm/swarm-engine'
import type { BackendRequest } from '../v1/backend'
import { ApiError, badRequest } from '../v1/errors'

/** The request as browser nodes take it; what they cannot honour is a 400 that says so. */
export function toTaskRequest(request: BackendRequest): ChatRequest {
  const candidate = {
    messages: request.messages.map((message) => ({ role: message.role === 'developer' ? 'system' : message.role, content: messageText(message) })),
    max_tokens: request.max_tokens,
    ...(request.temperature == null ? {} : { temperature: request.temperature }),
    ...(request.top_p == null ? {} : { top_p: request.top_p }),
    ...(request.seed == null ? {} : { seed: request.seed }),
    ...(stopSequences(request).length === 0 ? {} : { stop: stopSequences(request) }),
  }
  const parsed = v.safeParse(ChatRequestSchema, candidate)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const where = issue.path?.map((item) => String(item.key)).join('.') ?? 'request'
    throw badRequest(`the swarm's browser nodes cannot take this request: ${where}: ${issue.message}`, where.split('.')[0] ?? null)
  }
  return parsed.output
}

/** A rough count where the executor reported none. */
function estimatedUsage(request: ChatRequest, completionChars: number): Usage {
  return roughUsage(request.messages.reduce((sum, message) => sum + message.content.length, 0), completionChars)
}

/** The task failed in the room (no bid in time, its executors all gone): the client's 503. */
export function taskFailed(error: Error): ApiError {
  return new ApiError(503, `the swarm could not answer: ${error.message}`, 'server_error', 'swarm_task_failed')
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
  let completionChars = 0
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
      const event = next.value
      const text = taskEventText(event)
      completionChars += text.length
      yield chunks.content(text, first)
      first = false
    }
    if (first) yield chunks.role()
    const result = await Promise.race([handle.result, aborted]).catch((error: unknown) => {
      throw error instanceof AbortError || !(error instanceof Error) ? error : taskFailed(error)
    })
    finished = true
    yield chunks.finish(result.finish === 'length' ? 'length' : 'stop')
    yield chunks.usage(result.usage ?? estimatedUsage(request, completionChars))
  } finally {
    signal.removeEventListener('abort', onAbort)
    // A consumer that stops early (the client went away, a write failed) calls the task off.
    if (!finished) handle.cancel()
    void events.return?.()
  }
}

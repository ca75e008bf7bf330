import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionRequestStreaming, CompletionUsage } from '@mlc-ai/web-llm'
import { InferenceError } from '../../shared/errors'
import { callDeltas, chunkFactory } from '../chunks'
import { qwen3TextMessages, type TextMessage } from '../qwen3-prompt'
import { ToolOutput, forcedCall } from '../tool-output'
import type { ChatChunk, ChatRequest, FinishReason } from '../types'
import { messageOf } from './load-error'
import { failureAsPromise, withTimeout, type OnFailure } from './settle'

/** The part of WebLLM's engine a chat uses; a fake stands in for it in unit tests. */
export interface ChatBackend {
  chat: { completions: { create(request: ChatCompletionRequestStreaming): Promise<AsyncIterable<ChatCompletionChunk>> } }
  interruptGenerate(): void
}

export interface ChatStreamOptions {
  backend: ChatBackend
  modelId: string
  request: ChatRequest
  signal?: AbortSignal | undefined
  /** The engine's worker died (or was unloaded): the stream then fails with that error. */
  onFailure: OnFailure
  onSpeed(prefillTokensPerS: number, decodeTokensPerS: number): void
  /** How long an aborted stream waits for WebLLM's own 'abort' chunk (with usage) before ending. */
  abortWaitMs?: number
}

/*
 * WebLLM's stream is pull-based and holds the model's lock until it is read to its end: a stream
 * left half-read would block every later request. After an abort (or a consumer that stops early)
 * we interrupt and read it to the end in the background; interrupting again after each content
 * chunk covers an interrupt that landed before the worker started the generation (it resets the
 * flag then). Every such interrupt lands while this generation still holds the lock.
 */
const defaultAbortWaitMs = 2_000

type StreamState = { finish: FinishReason | null; usage: ChatChunk['usage'] }
type Step = IteratorResult<ChatCompletionChunk>
type Stop = { kind: 'abort' } | { kind: 'failed'; error: Error }

/** Streams one WebLLM chat completion as our ChatChunks; abort ends it with finish_reason 'abort'. */
export async function* streamChat(options: ChatStreamOptions): AsyncGenerator<ChatChunk, void, undefined> {
  const { backend, signal } = options
  const chunks = chunkFactory(options.modelId)
  if (signal?.aborted) {
    yield chunks.finish('abort')
    return
  }
  const forced = forcedCall(options.request) !== null
  const output = new ToolOutput(forced)
  const stop = stopWhen(signal, options.onFailure)
  let iterator: AsyncIterator<ChatCompletionChunk>
  try {
    // Not raced against the abort: a request that was created is read like any other (see drain).
    const created = await Promise.race([backend.chat.completions.create(toWebLlmRequest(options.request)), stop.failed])
    if (created instanceof Error) throw created
    iterator = created[Symbol.asyncIterator]()
  } catch (error) {
    stop.dispose()
    throw error instanceof InferenceError ? error : new InferenceError(messageOf(error))
  }
  const state: StreamState = { finish: null, usage: undefined }
  let owned = true
  let first = true
  try {
    for (;;) {
      const pending = iterator.next()
      const step = await Promise.race([pending, stop.promise])
      if ('kind' in step) {
        if (step.kind === 'failed') throw step.error
        backend.interruptGenerate()
        owned = false
        const drained = drain(iterator, pending, backend, state, options)
        const waitMs = options.abortWaitMs ?? defaultAbortWaitMs
        await withTimeout(drained, waitMs, () => new Error('drain timed out')).catch(() => undefined)
        yield chunks.finish('abort', state.usage)
        return
      }
      if (step.done === true) break
      const content = output.push(absorb(step.value, state, options))
      if (content !== '') {
        yield chunks.content(content, first)
        first = false
      }
    }
    owned = false
    const { content, calls } = output.end()
    if (content !== '') {
      yield chunks.content(content, first)
      first = false
    }
    if (calls.length > 0) yield chunks.toolCalls(callDeltas(calls), first)
    yield chunks.finish(calls.length > 0 ? 'tool_calls' : (state.finish ?? 'stop'), state.usage)
  } catch (error) {
    owned = false
    throw error instanceof InferenceError ? error : new InferenceError(messageOf(error))
  } finally {
    stop.dispose()
    if (owned) {
      // The consumer stopped reading mid-stream: release WebLLM's lock in the background.
      backend.interruptGenerate()
      void drain(iterator, undefined, backend, state, options)
    }
  }
}

/** Reads a WebLLM stream to its end, interrupting while it still generates; never rejects. */
async function drain(iterator: AsyncIterator<ChatCompletionChunk>, pending: Promise<Step> | undefined, backend: ChatBackend, state: StreamState, options: ChatStreamOptions): Promise<void> {
  const failed = failureAsPromise(options.onFailure)
  try {
    let next = pending ?? iterator.next()
    for (;;) {
      const step = await Promise.race([next, failed.promise])
      if (step instanceof Error || step.done === true) return
      absorb(step.value, state, options)
      if (state.finish === null) backend.interruptGenerate()
      next = iterator.next()
    }
  } catch {
    // The generation failed while being drained: it has ended, so nothing is left to release.
  } finally {
    failed.dispose()
  }
}

function absorb(chunk: ChatCompletionChunk, state: StreamState, options: ChatStreamOptions): string {
  // WebLLM sends `usage: null` on every chunk but the last.
  const usage: CompletionUsage | null | undefined = chunk.usage
  if (usage) {
    state.usage = { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, total_tokens: usage.total_tokens }
    const extra = usage.extra as Partial<CompletionUsage['extra']> | undefined
    const prefill = extra?.prefill_tokens_per_s ?? 0
    const decode = extra?.decode_tokens_per_s ?? 0
    if (Number.isFinite(prefill) && Number.isFinite(decode) && (prefill > 0 || decode > 0)) options.onSpeed(prefill, decode)
  }
  const choice = chunk.choices[0]
  if (!choice) return ''
  if (choice.finish_reason !== null) {
    state.finish = choice.finish_reason === 'length' || choice.finish_reason === 'abort' ? choice.finish_reason : 'stop'
  }
  return choice.delta.content ?? ''
}

/**
 * Our request as WebLLM's. WebLLM's Qwen3 has no function calling (it throws on `tools`), so tools
 * travel in Qwen3's own text format (qwen3-prompt.ts) and come back parsed by ToolOutput; a
 * forced call and a JSON schema are decoded under WebLLM's grammar (xgrammar): `json_object`
 * with the schema as a JSON string.
 */
export function toWebLlmRequest(request: ChatRequest): ChatCompletionRequestStreaming {
  const out: ChatCompletionRequestStreaming = {
    messages: qwen3TextMessages(request).map(toWebLlmMessage),
    stream: true,
    stream_options: { include_usage: true },
  }
  if (request.max_tokens !== undefined) out.max_tokens = request.max_tokens
  if (request.temperature !== undefined) out.temperature = request.temperature
  if (request.top_p !== undefined) out.top_p = request.top_p
  if (request.stop !== undefined) out.stop = [...request.stop]
  if (request.seed !== undefined) out.seed = request.seed
  const schema = forcedCall(request) ?? (request.response_format?.type === 'json_schema' ? request.response_format.json_schema.schema : null)
  if (schema) out.response_format = { type: 'json_object', schema: JSON.stringify(schema) }
  else if (request.response_format?.type === 'json_object') out.response_format = { type: 'json_object' }
  if (request.enable_thinking !== undefined) out.extra_body = { enable_thinking: request.enable_thinking }
  return out
}

function toWebLlmMessage(message: TextMessage): ChatCompletionMessageParam {
  return message.role === 'system'
    ? { role: 'system', content: message.content }
    : message.role === 'user'
      ? { role: 'user', content: message.content }
      : { role: 'assistant', content: message.content }
}

function stopWhen(signal: AbortSignal | undefined, onFailure: OnFailure): { promise: Promise<Stop>; failed: Promise<Error>; dispose(): void } {
  let onAbort = (): void => {}
  const aborted = new Promise<Stop>((resolve) => {
    onAbort = () => resolve({ kind: 'abort' })
    signal?.addEventListener('abort', onAbort, { once: true })
  })
  const failure = failureAsPromise(onFailure)
  const failed = failure.promise.then((error): Stop => ({ kind: 'failed', error }))
  return {
    promise: Promise.race([aborted, failed]),
    failed: failure.promise,
    dispose: () => {
      signal?.removeEventListener('abort', onAbort)
      failure.dispose()
    },
  }
}

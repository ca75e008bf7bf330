// A backend's chunks (chat or raw completion) as Ollama's pieces: text, thinking split out
// (reasoning.ts, as /v1 splits it into reasoning_content), calls whole (Ollama sends a call at once, its arguments an object), then how it ended.
import type { ChatCompletionChunk, TextCompletionChunk, Usage, WireToolCallDelta } from '../../shared/openai'
import { UpstreamError } from '../v1/errors'
import { splitReasoningChunks } from '../v1/reasoning'
import type { OllamaPiece, OllamaToolCall } from './wire'

export type Step = { kind: 'piece'; piece: OllamaPiece } | { kind: 'end'; reason: 'stop' | 'length'; usage: Usage | null }

const piece = (content: string, thinking = '', toolCalls: OllamaToolCall[] = []): Step => ({ kind: 'piece', piece: { content, thinking, toolCalls } })

/** A call's arguments as Ollama sends them: the object the model wrote. */
function argumentsOf(name: string, text: string): Record<string, unknown> {
  if (text.trim() === '') return {}
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {
    // Refused below, as any other non-object.
  }
  throw new UpstreamError(`the model's call of ${JSON.stringify(name)} has arguments that are not a JSON object`, 'bad_tool_arguments')
}

/** The calls of an answer, put together from their streamed pieces by index. */
function callCollector() {
  const calls = new Map<number, { name: string; arguments: string }>()
  return {
    add(delta: WireToolCallDelta): void {
      const call = calls.get(delta.index) ?? { name: '', arguments: '' }
      call.name += delta.function?.name ?? ''
      call.arguments += delta.function?.arguments ?? ''
      calls.set(delta.index, call)
    },
    take(): OllamaToolCall[] {
      const whole = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => ({ function: { name: call.name, arguments: argumentsOf(call.name, call.arguments) } }))
      calls.clear()
      return whole
    },
  }
}

/**
 * Ollama's pieces of a chat answer, the thinking in `thinking`. `keepThinking` false
 * (`think: false`) drops the thinking a model wrote anyway.
 */
export async function* chatSteps(chunks: AsyncIterable<ChatCompletionChunk>, keepThinking: boolean): AsyncGenerator<Step> {
  const calls = callCollector()
  let reason: 'stop' | 'length' = 'stop'
  let usage: Usage | null = null
  for await (const chunk of splitReasoningChunks(chunks)) {
    if (chunk.usage) usage = chunk.usage
    for (const choice of chunk.choices) {
      const content = choice.delta.content ?? ''
      const thinking = keepThinking ? (choice.delta.reasoning_content ?? '') : ''
      if (content !== '' || thinking !== '') yield piece(content, thinking)
      for (const delta of choice.delta.tool_calls ?? []) calls.add(delta)
      if (choice.finish_reason === 'length') reason = 'length'
    }
  }
  const toolCalls = calls.take()
  if (toolCalls.length > 0) yield piece('', '', toolCalls)
  yield { kind: 'end', reason, usage }
}

/** Ollama's pieces of a raw completion (`/api/generate` with `raw` or `suffix`). */
export async function* completionSteps(chunks: AsyncIterable<TextCompletionChunk>): AsyncGenerator<Step> {
  let reason: 'stop' | 'length' = 'stop'
  let usage: Usage | null = null
  for await (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage
    for (const choice of chunk.choices) {
      if (choice.text !== '') yield piece(choice.text)
      if (choice.finish_reason === 'length') reason = 'length'
    }
  }
  yield { kind: 'end', reason, usage }
}

import type { ParsedCall } from '../shared/tool-calls'
import type { ChatChunk, FinishReason, ToolCallDelta } from './types'

/** Builds the chunks of one completion in OpenAI's shape. */
export function chunkFactory(
  model: string,
  id = `chatcmpl-${crypto.randomUUID()}`,
): {
  content(text: string, first?: boolean): ChatChunk
  toolCalls(deltas: ToolCallDelta[], first?: boolean): ChatChunk
  finish(reason: FinishReason, usage?: ChatChunk['usage']): ChatChunk
} {
  const created = Math.floor(Date.now() / 1000)
  const base = { id, object: 'chat.completion.chunk' as const, created, model }
  return {
    content: (text, first = false) => ({ ...base, choices: [{ index: 0, delta: first ? { role: 'assistant', content: text } : { content: text }, finish_reason: null }] }),
    toolCalls: (deltas, first = false) => ({ ...base, choices: [{ index: 0, delta: first ? { role: 'assistant', tool_calls: deltas } : { tool_calls: deltas }, finish_reason: null }] }),
    finish: (reason, usage) => ({ ...base, choices: [{ index: 0, delta: {}, finish_reason: reason }], ...(usage ? { usage } : {}) }),
  }
}

/** Whole calls as the deltas of one chunk, each with a fresh id. */
export function callDeltas(calls: readonly ParsedCall[]): ToolCallDelta[] {
  return calls.map((call, index) => ({ index, id: `call_${crypto.randomUUID()}`, type: 'function', function: { name: call.name, arguments: call.arguments } }))
}

/** Joins streamed call pieces by index, as an OpenAI client does; `calls()` gives the whole calls. */
export class ToolCallJoin {
  readonly #calls: { name: string; arguments: string }[] = []

  add(deltas: readonly ToolCallDelta[]): void {
    for (const delta of deltas) {
      const call = (this.#calls[delta.index] ??= { name: '', arguments: '' })
      call.name += delta.function.name ?? ''
      call.arguments += delta.function.arguments ?? ''
    }
  }

  calls(): ParsedCall[] {
    return this.#calls.filter((call) => call.name !== '')
  }
}

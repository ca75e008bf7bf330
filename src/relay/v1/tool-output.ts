// A model's raw output in Qwen3's tool-call format (src/shared/tool-calls.ts) as OpenAI chunks:
// the text before the first `<tool_call>` streams as content as it comes; from there on the
// output is held, and at the end its calls go out as tool_call deltas (the first piece of each
// with its id and name, then its arguments), with finish reason `tool_calls`. Used by every
// backend whose model writes calls as text: the embedded one and the swarm's browser nodes.
import type { ChatCompletionChunk, FinishReason, WireToolCallDelta } from '../../shared/openai'
import { parseToolCalls } from '../../shared/tool-calls'

const callOpen = '<tool_call>'

type ChunkBuilder = {
  content(text: string, first?: boolean): ChatCompletionChunk
  toolCalls(deltas: WireToolCallDelta[]): ChatCompletionChunk
}

export interface ToolOutput {
  /** The chunks for the next piece of the model's raw output. */
  push(text: string): ChatCompletionChunk[]
  /** The chunks for what was held back, and the answer's finish reason (`tool_calls` when it made any). */
  end(finish: 'stop' | 'length'): { chunks: ChatCompletionChunk[]; finish: FinishReason }
}

/** How many characters at the end of `text` could begin `<tool_call>`: those wait for the next piece. */
function heldTail(text: string): number {
  for (let length = Math.min(callOpen.length - 1, text.length); length > 0; length--) if (callOpen.startsWith(text.slice(-length))) return length
  return 0
}

/** A fresh call id, as OpenAI's look: `call_` and 24 letters and digits. */
export const newCallId = (): string => `call_${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`

/** Parses the model's output for calls as it streams; `first` says whether a content chunk was already sent (it names the role). */
export function createToolOutput(chunks: ChunkBuilder, options: { first: boolean }): ToolOutput {
  let pending = ''
  let inCalls = false
  let first = options.first
  const content = (text: string): ChatCompletionChunk[] => {
    if (text === '') return []
    const chunk = chunks.content(text, first)
    first = false
    return [chunk]
  }
  return {
    push(text) {
      pending += text
      if (inCalls) return []
      const at = pending.indexOf(callOpen)
      if (at !== -1) {
        inCalls = true
        const before = pending.slice(0, at)
        pending = pending.slice(at)
        return content(before)
      }
      const ready = pending.slice(0, pending.length - heldTail(pending))
      pending = pending.slice(ready.length)
      return content(ready)
    },
    end(finish) {
      if (!inCalls) return { chunks: content(pending), finish }
      const parsed = parseToolCalls(pending)
      // Calls the model botched are its text, not calls: the client sees what it wrote.
      const out = content(parsed.calls.length === 0 ? pending : parsed.content)
      parsed.calls.forEach((call, index) => {
        out.push(chunks.toolCalls([{ index, id: newCallId(), type: 'function', function: { name: call.name, arguments: '' } }]))
        out.push(chunks.toolCalls([{ index, function: { arguments: call.arguments } }]))
      })
      return { chunks: out, finish: parsed.calls.length > 0 ? 'tool_calls' : finish }
    },
  }
}

import type { ChatChunk, ToolCallDelta } from '../../inference/types'
import { splitThinking } from '../../inference/think'
import { parseToolCalls, type ParsedCall } from '../../shared/tool-calls'

/** What one step of the model said: its text outside calls, and the calls it made. */
export interface StepOutput {
  thought: string
  calls: ParsedCall[]
  /** Calls the model began but that are not well-formed (cut off, or not JSON). */
  malformed: number
  finish: string
}

interface Building {
  name: string
  arguments: string
}

function addDelta(building: Map<number, Building>, delta: ToolCallDelta): void {
  const call = building.get(delta.index) ?? { name: '', arguments: '' }
  call.name += delta.function.name ?? ''
  call.arguments += delta.function.arguments ?? ''
  building.set(delta.index, call)
}

/**
 * Reads a step's stream: native tool calls from the chunks' `tool_calls` deltas, or, from an
 * engine that writes Qwen3's `<tool_call>` text instead, the calls parsed out of its content.
 */
export async function readStep(chunks: AsyncIterable<ChatChunk>, onText: (text: string) => void): Promise<StepOutput> {
  let content = ''
  let finish = 'stop'
  const building = new Map<number, Building>()
  for await (const chunk of chunks) {
    const { delta, finish_reason } = chunk.choices[0]
    if (delta.content) {
      content += delta.content
      const thought = visibleThought(content)
      if (thought) onText(thought)
    }
    for (const call of delta.tool_calls ?? []) addDelta(building, call)
    if (finish_reason) finish = finish_reason
  }
  const parsed = parseToolCalls(content)
  const native = [...building.entries()].sort(([a], [b]) => a - b).map(([, call]) => call)
  const calls = native.filter((call) => call.name !== '')
  return {
    thought: visibleThought(parsed.content),
    calls: [...calls, ...parsed.calls],
    malformed: parsed.malformed + native.length - calls.length,
    finish,
  }
}

/** The text a step shows as its thought: no thinking part, nothing from a call on. */
function visibleThought(text: string): string {
  const beforeCall = text.split(callTag)[0] ?? ''
  // A stream may stop inside the tag: hold back a partial "<tool_c".
  const partial = beforeCall.lastIndexOf('<')
  const shown = partial !== -1 && callTag.startsWith(beforeCall.slice(partial)) ? beforeCall.slice(0, partial) : beforeCall
  return splitThinking(shown).answer.trim()
}

const callTag = '<tool_call>'

// The output side of tools for engines that decode Qwen3's format as text (wllama where llama.cpp
// leaves calls in the content, WebLLM always): which requests force a call, the schema that
// forces it, and the split of the streamed text into content and calls.
import { ValidationError } from '../shared/errors'
import { ToolCallScanner, forcedCallSchema, parseForcedCall, type ParsedCall } from '../shared/tool-calls'
import type { ChatRequest } from './types'

/**
 * The JSON schema a forced call (`tool_choice` 'required' or a named function) is decoded
 * under, or null when the model may answer freely. Throws when the named function is no tool.
 */
export function forcedCall(request: ChatRequest): Record<string, unknown> | null {
  const tools = request.tools ?? []
  const choice = request.tool_choice
  const named = typeof choice === 'object' ? choice.function.name : undefined
  if (named !== undefined && !tools.some((tool) => tool.function.name === named)) throw new ValidationError(`tool_choice names ${named}, which is not among the tools`)
  if (tools.length === 0 || !(choice === 'required' || named !== undefined)) return null
  return forcedCallSchema(
    tools.map((tool) => tool.function),
    named,
  )
}

/** Streamed text in, content that is safe to show out; the calls at the end. */
export class ToolOutput {
  readonly #scanner = new ToolCallScanner()
  #forcedText = ''

  /** `forced`: the whole output is one call's JSON (decoded under `forcedCall`'s schema). */
  constructor(private readonly forced: boolean) {}

  push(text: string): string {
    if (!this.forced) return this.#scanner.push(text)
    this.#forcedText += text
    return ''
  }

  /** The calls, and the text held back that proved to be content (a forced output cut short shows as it came). */
  end(): { content: string; calls: ParsedCall[] } {
    if (!this.forced) {
      const { content, calls } = this.#scanner.end()
      return { content, calls }
    }
    const call = parseForcedCall(this.#forcedText)
    return call ? { content: '', calls: [call] } : { content: this.#forcedText, calls: [] }
  }
}

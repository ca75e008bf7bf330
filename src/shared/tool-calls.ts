// Qwen3's own tool-call format (Hermes style, as its chat template writes it), for engines with
// no native function calling and for the market, whose results are text: a call travels as
//   <tool_call>
//   {"name": "search", "arguments": {"query": "…"}}
//   </tool_call>
// and a tool's answer as <tool_response>…</tool_response> in a user turn. Pure: no node or
// browser imports, so the relay and the page parse the same way.

/** A tool as both wire formats describe it (OpenAI's `function` part). */
export interface ToolFunction {
  name: string
  description?: string | undefined
  parameters?: Record<string, unknown> | undefined
}

export interface ParsedCall {
  name: string
  /** JSON text of an object, as OpenAI's `arguments`. */
  arguments: string
}

export interface ParsedToolOutput {
  /** The text outside the calls, trimmed. */
  content: string
  calls: ParsedCall[]
  /** `<tool_call>` blocks that were not a JSON object with a string `name` (kept out of `calls`). */
  malformed: number
}

const open = '<tool_call>'
const close = '</tool_call>'

/** Splits a model's raw output into its text and the calls it made; a call cut off by the end counts as malformed. */
export function parseToolCalls(text: string): ParsedToolOutput {
  const calls: ParsedCall[] = []
  let content = ''
  let malformed = 0
  let at = 0
  for (;;) {
    const start = text.indexOf(open, at)
    if (start === -1) break
    content += text.slice(at, start)
    const end = text.indexOf(close, start + open.length)
    const body = text.slice(start + open.length, end === -1 ? undefined : end)
    const call = end === -1 ? null : callOf(body)
    if (call) calls.push(call)
    else malformed++
    at = end === -1 ? text.length : end + close.length
  }
  content += text.slice(at)
  return { content: content.trim(), calls, malformed }
}

function callOf(body: string): ParsedCall | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.trim())
  } catch {
    return null
  }
  if (!isRecord(parsed) || typeof parsed['name'] !== 'string' || parsed['name'] === '') return null
  const args = parsed['arguments'] ?? {}
  if (typeof args === 'string') return isJsonObjectText(args) ? { name: parsed['name'], arguments: args } : null
  if (!isRecord(args)) return null
  return { name: parsed['name'], arguments: JSON.stringify(args) }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isJsonObjectText(text: string): boolean {
  try {
    return isRecord(JSON.parse(text))
  } catch {
    return false
  }
}

/** One call in Qwen3's format; `args` is JSON text of an object (an unparsable one is sent as `{}`). */
export function toolCallText(name: string, args: string): string {
  const value = isJsonObjectText(args) ? (JSON.parse(args) as Record<string, unknown>) : {}
  return `${open}\n${JSON.stringify({ name, arguments: value })}\n${close}`
}

/** A tool's answer as Qwen3's template writes it inside a user turn. */
export function toolResponseText(content: string): string {
  return `<tool_response>\n${content}\n</tool_response>`
}

/** The system prompt part that offers `tools`, word for word as Qwen3's chat template writes it. */
export function toolsSystemText(tools: readonly ToolFunction[]): string {
  const signatures = tools.map((tool) => JSON.stringify({ type: 'function', function: tool })).join('\n')
  return [
    '# Tools',
    '',
    'You may call one or more functions to assist with the user query.',
    '',
    'You are provided with function signatures within <tools></tools> XML tags:',
    '<tools>',
    signatures,
    '</tools>',
    '',
    'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:',
    '<tool_call>',
    '{"name": <function-name>, "arguments": <args-json-object>}',
    '</tool_call>',
  ].join('\n')
}

/**
 * The JSON Schema of one forced call `{ name, arguments }`: any of `tools` (`required`), or the
 * one named. Constrained decoding with it makes even a random-weight model write a valid call.
 */
export function forcedCallSchema(tools: readonly ToolFunction[], only?: string): Record<string, unknown> {
  const chosen = only === undefined ? tools : tools.filter((tool) => tool.name === only)
  const options = chosen.map((tool) => ({
    type: 'object',
    properties: { name: { const: tool.name }, arguments: tool.parameters ?? { type: 'object' } },
    required: ['name', 'arguments'],
    additionalProperties: false,
  }))
  return options.length === 1 ? (options[0] ?? {}) : { anyOf: options }
}

/**
 * Splits streamed model text into content that is safe to show now and Qwen3 tool calls: text
 * from the first `<tool_call>` on is held (as is a tail that may be the start of one) and parsed
 * at the end. For engines that get Qwen3's format back as plain text.
 */
export class ToolCallScanner {
  #pending = ''
  #held = ''
  #inCall = false

  /** Takes the next piece of text; returns the part that is content for certain. */
  push(text: string): string {
    if (this.#inCall) {
      this.#held += text
      return ''
    }
    const buffer = this.#pending + text
    const start = buffer.indexOf(open)
    if (start !== -1) {
      this.#inCall = true
      this.#held = buffer.slice(start)
      this.#pending = ''
      return buffer.slice(0, start)
    }
    const keep = partialOpenLength(buffer)
    this.#pending = buffer.slice(buffer.length - keep)
    return buffer.slice(0, buffer.length - keep)
  }

  /** Whether a call has begun (its text is being held). */
  get inCall(): boolean {
    return this.#inCall
  }

  /** At the end of the stream: the calls, and the held text that was no call (to show as content). */
  end(): ParsedToolOutput {
    if (!this.#inCall) return { content: this.#pending, calls: [], malformed: 0 }
    return parseToolCalls(this.#held)
  }
}

/** How many characters at the end of `text` could begin `<tool_call>`. */
function partialOpenLength(text: string): number {
  for (let length = Math.min(open.length - 1, text.length); length > 0; length--) if (open.startsWith(text.slice(text.length - length))) return length
  return 0
}

/** A forced call's output (constrained by `forcedCallSchema`: bare `{ name, arguments }` JSON) as a call, or null. */
export function parseForcedCall(text: string): ParsedCall | null {
  return parseToolCalls(`${open}${text}${close}`).calls[0] ?? null
}

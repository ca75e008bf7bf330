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

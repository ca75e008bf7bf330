// What the embedded backend feeds node-llama-cpp for a request: the chat history, with tools
// in Qwen3's own format (offered in the system turn, calls in the model's turns, answers as
// <tool_response> in a user turn, as Qwen3's chat template writes them), and the grammar that
// constrains decoding: a response_format's schema, or a forced call's (forcedCallSchema), so
// even a random-weight model writes valid JSON or a well-formed call.
import type { ChatHistoryItem, Llama, LlamaGrammar } from 'node-llama-cpp'
import { messageText, type WireTool } from '../../shared/openai'
import { forcedCallSchema, toolCallText, toolResponseText, toolsSystemText, type ToolFunction } from '../../shared/tool-calls'
import type { BackendRequest } from './backend'
import { badRequest } from './errors'
import { grammarSchemaOf } from './grammar-schema'
import { refuseOtherTemplateKwargs, thinkingAsked } from './reasoning'
import { checkToolFields } from './request'

/** How the answer is decoded: free text, free text that may hold calls, one forced call, or JSON. */
export type DecodePlan =
  | { kind: 'text' }
  | { kind: 'calls' }
  /** `param`: where the schema came from, for the 400 when it does not compile. */
  | { kind: 'forced-call'; schema: Record<string, unknown>; param: string }
  | { kind: 'json'; schema: Record<string, unknown> | null; param: string }

const functionsOf = (tools: readonly WireTool[]): ToolFunction[] =>
  tools.map(({ function: fn }) => ({ name: fn.name, ...(fn.description === undefined ? {} : { description: fn.description }), ...(fn.parameters === undefined ? {} : { parameters: fn.parameters }) }))

/**
 * How to decode `request`'s answer; a tool field that makes no sense (checkToolFields), or what
 * this backend cannot combine, is a 400 naming the field: a forced call and a response_format
 * both constrain the whole answer.
 */
export function decodePlan(request: BackendRequest): DecodePlan {
  checkToolFields(request)
  refuseOtherTemplateKwargs(request, 'embedded backend')
  const tools = request.tools ?? []
  const choice = request.tool_choice ?? 'auto'
  const format = request.response_format?.type ?? 'text'
  const offered = tools.length > 0 && choice !== 'none'
  if (offered && format !== 'text') {
    throw badRequest(`response_format ${format} cannot be combined with tools on the embedded backend: send one or the other (or tool_choice "none")`, 'response_format', 'unsupported_combination')
  }
  if (offered && choice === 'auto') return { kind: 'calls' }
  if (offered) {
    const only = typeof choice === 'object' ? choice.function.name : undefined
    return { kind: 'forced-call', schema: grammarSchemaOf(forcedCallSchema(functionsOf(tools), only), 'tools'), param: 'tools' }
  }
  if (request.response_format?.type === 'json_schema') {
    const { schema } = request.response_format.json_schema
    const param = 'response_format.json_schema.schema'
    return { kind: 'json', schema: schema === undefined ? null : grammarSchemaOf(schema, param), param }
  }
  return format === 'json_object' ? { kind: 'json', schema: null, param: 'response_format' } : { kind: 'text' }
}

/** The grammar of `plan`, or undefined for free text. */
export async function grammarOf(llama: Llama, plan: DecodePlan): Promise<LlamaGrammar | undefined> {
  if (plan.kind === 'text' || plan.kind === 'calls') return undefined
  if (plan.schema === null) return llama.getGrammarFor('json')
  try {
    // The schema was checked keyword by keyword (grammarSchemaOf); its TypeScript type cannot be.
    return await llama.createGrammarForJsonSchema(plan.schema as Parameters<Llama['createGrammarForJsonSchema']>[0])
  } catch (error) {
    // What llama.cpp's grammar parser refuses (a repetition past its limit, a left recursion).
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
    throw badRequest(`${plan.param}: the schema cannot be made into a grammar (${reason ?? 'no reason given'})`, plan.param, 'unsupported_schema')
  }
}

/**
 * The request's messages as node-llama-cpp's history, ending with the model's empty turn; with
 * `closedThought`, that turn starts with an empty, closed thought (Qwen3's `enable_thinking=false`
 * prompt: `<think>\n\n</think>\n\n`), for a chat wrapper that knows thought segments.
 */
export function toHistory(request: BackendRequest, closedThought = false): ChatHistoryItem[] {
  const tools = request.tools ?? []
  const history: ChatHistoryItem[] = []
  // Qwen3's template puts the tools after the system prompt, in the first (system) turn.
  const toolsText = tools.length > 0 && request.tool_choice !== 'none' ? toolsSystemText(functionsOf(tools)) : ''
  const first = request.messages[0]
  const system = first !== undefined && (first.role === 'system' || first.role === 'developer') ? messageText(first) : null
  if (system !== null || toolsText !== '') history.push({ type: 'system', text: [system, toolsText].filter((part) => part !== null && part !== '').join('\n\n') })
  for (const message of request.messages.slice(system === null ? 0 : 1)) {
    const text = messageText(message)
    const last = history.at(-1)
    if (message.role === 'assistant') {
      const calls = (message.tool_calls ?? []).map((call) => toolCallText(call.function.name, call.function.arguments))
      history.push({ type: 'model', response: [[text, ...calls].filter((part) => part !== '').join('\n')] })
    } else if (message.role === 'tool') {
      // Consecutive tool answers share one user turn, as the template groups them.
      if (last?.type === 'user' && last.text.endsWith('</tool_response>')) last.text += `\n${toolResponseText(text)}`
      else history.push({ type: 'user', text: toolResponseText(text) })
    } else if (message.role === 'user') {
      history.push({ type: 'user', text })
    } else {
      history.push({ type: 'system', text })
    }
  }
  history.push({ type: 'model', response: closedThought ? [{ type: 'segment', segmentType: 'thought', text: '', ended: true }] : [] })
  return history
}

/** Of max_tokens, what each reasoning_effort leaves the thought segment; `high` is unbounded. */
const thoughtShareOfEffort = { minimal: 0.1, low: 0.25, medium: 0.5, high: Number.POSITIVE_INFINITY } as const

/**
 * node-llama-cpp's thought-token budget for `request`: 0 when thinking is off (the segment is
 * closed as soon as it opens, as the empty think block of `enable_thinking=false` is), a share
 * of max_tokens for an effort, and node-llama-cpp's default when neither is asked. When the
 * budget is spent, node-llama-cpp closes the thought segment and the model goes on to answer.
 */
export function thoughtTokenBudget(request: BackendRequest): number | undefined {
  const asked = thinkingAsked(request)
  if (!asked.think) return 0
  if (asked.effort === null) return undefined
  const share = thoughtShareOfEffort[asked.effort]
  return Number.isFinite(share) ? Math.max(1, Math.floor(request.max_tokens * share)) : share
}

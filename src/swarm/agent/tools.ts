// The agent's built-in tools: what each does, the JSON Schema the model sees (bounded, so that
// constrained decoding stays short even on random weights), and the valibot schema its
// arguments must pass before it runs. Everything a tool returns goes back to the model as data.
import * as v from 'valibot'
import type { Tool } from '../../inference/types'
import type { MemoryItem } from '../../memory/store'
import { memoryBlock, quotedEntryOf } from '../memory-quote'

export const agentToolNames = ['memory_search', 'memory_add', 'ask_swarm', 'final_answer'] as const
export type AgentToolName = (typeof agentToolNames)[number]

/** What the tools act on: the room's memory, the user (who confirms every write), and the market. */
export interface AgentToolDeps {
  memory: {
    search(query: string, options: { k: number }): Promise<readonly MemoryItem[]>
    /** Signs the entry with this node's key and writes it; its id. */
    add(draft: { text: string }): Promise<string>
  }
  /** Shows `text` to the user before it is written; true once they confirm it, false if they decline or stop. */
  confirmAdd(text: string, signal: AbortSignal): Promise<boolean>
  /** Posts `prompt` as a subtask on the room's market; the answer's text. */
  askSwarm(prompt: string, signal: AbortSignal): Promise<string>
}

const maxQueryChars = 100
const maxEntryChars = 200
const maxPromptChars = 400
const maxAnswerChars = 600
/** A peer's answer is cut to this before it goes back to the model. */
const swarmAnswerChars = 2_000
const searchK = { max: 8, default: 4 }

const Text = (max: number): v.SchemaWithPipe<readonly [v.StringSchema<undefined>, v.TrimAction, v.MinLengthAction<string, 1, string>, v.MaxLengthAction<string, number, string>]> =>
  v.pipe(v.string(), v.trim(), v.minLength(1, 'is empty'), v.maxLength(max, `is over ${max} characters`))

export const agentArgumentSchemas = {
  memory_search: v.strictObject({ query: Text(maxQueryChars), k: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(searchK.max))) }),
  memory_add: v.strictObject({ text: Text(maxEntryChars) }),
  ask_swarm: v.strictObject({ prompt: Text(maxPromptChars) }),
  final_answer: v.strictObject({ answer: Text(maxAnswerChars) }),
} satisfies Record<AgentToolName, v.GenericSchema>

export type AgentArguments = { [K in AgentToolName]: v.InferOutput<(typeof agentArgumentSchemas)[K]> }

const stringField = (description: string, maxLength: number): Record<string, unknown> => ({ type: 'string', description, minLength: 1, maxLength })

function tool(name: AgentToolName, description: string, properties: Record<string, Record<string, unknown>>, required: string[]): Tool {
  return { type: 'function', function: { name, description, parameters: { type: 'object', properties, required, additionalProperties: false } } }
}

/** The tools as the model is offered them. */
export const agentTools: Record<AgentToolName, Tool> = {
  memory_search: tool(
    'memory_search',
    "Search the room's shared memory; returns the best entries with their authors.",
    { query: stringField('what to look for', maxQueryChars), k: { type: 'integer', minimum: 1, maximum: searchK.max } },
    ['query'],
  ),
  memory_add: tool('memory_add', "Add a fact to the room's shared memory (the user confirms it first).", { text: stringField('the fact to keep', maxEntryChars) }, ['text']),
  ask_swarm: tool('ask_swarm', 'Ask a peer of the room a self-contained question; returns its answer.', { prompt: stringField('the question, with all it needs', maxPromptChars) }, ['prompt']),
  final_answer: tool('final_answer', 'Give the user the final answer; ends the work.', { answer: stringField('the answer', maxAnswerChars) }, ['answer']),
}

/** Validated arguments for `name`, or why they are not. */
export function parseArguments<K extends AgentToolName>(name: K, text: string): { ok: true; value: AgentArguments[K] } | { ok: false; error: string } {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, error: 'arguments are not JSON' }
  }
  const parsed = v.safeParse(agentArgumentSchemas[name], json)
  if (parsed.success) return { ok: true, value: parsed.output as AgentArguments[K] }
  return { ok: false, error: parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'arguments'} ${issue.message}`).join('; ') }
}

export function isAgentTool(name: string): name is AgentToolName {
  return (agentToolNames as readonly string[]).includes(name)
}

export type ActingTool = Exclude<AgentToolName, 'final_answer'>

function badArguments(name: AgentToolName, error: string): { ok: false; content: string } {
  return { ok: false, content: `bad arguments for ${name}: ${error}` }
}

/** Validates a call's arguments, then runs the tool; what goes back to the model, and whether it ran. */
export async function runTool(name: ActingTool, argumentsText: string, deps: AgentToolDeps, signal: AbortSignal): Promise<{ ok: boolean; content: string }> {
  switch (name) {
    case 'memory_search': {
      const args = parseArguments(name, argumentsText)
      if (!args.ok) return badArguments(name, args.error)
      const hits = await deps.memory.search(args.value.query, { k: args.value.k ?? searchK.default })
      return { ok: true, content: hits.length === 0 ? 'No entry of the room memory matches.' : memoryBlock(hits.map(quotedEntryOf)) }
    }
    case 'memory_add': {
      const args = parseArguments(name, argumentsText)
      if (!args.ok) return badArguments(name, args.error)
      if (!(await deps.confirmAdd(args.value.text, signal))) return { ok: true, content: 'The user declined: nothing was written.' }
      return { ok: true, content: `Added to the room memory as ${await deps.memory.add({ text: args.value.text })}.` }
    }
    case 'ask_swarm': {
      const args = parseArguments(name, argumentsText)
      if (!args.ok) return badArguments(name, args.error)
      return { ok: true, content: (await deps.askSwarm(args.value.prompt, signal)).slice(0, swarmAnswerChars) }
    }
  }
}

/** The answer of a final_answer call, or why its arguments are bad. */
export function finalAnswerOf(argumentsText: string): { ok: true; answer: string } | { ok: false; content: string } {
  const args = parseArguments('final_answer', argumentsText)
  return args.ok ? { ok: true, answer: args.value.answer } : badArguments('final_answer', args.error)
}

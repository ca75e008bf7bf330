import * as v from 'valibot'
import { jsonByteLength } from '../shared/encoding'

export type EngineKind = 'webgpu' | 'wasm' | 'peer' | 'relay'

/** Which local engine to run (the URL's `engine=`): pick the best, force one, or none. */
export const engineChoices = ['auto', 'webgpu', 'wasm', 'none'] as const
export type EngineChoice = (typeof engineChoices)[number]

const Content = v.pipe(v.string(), v.maxLength(200_000))
const ToolName = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a tool name is 1 to 64 letters, digits, _ . or -'))
const ToolCallId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a tool call id is 1 to 64 letters, digits, _ . : or -'))
const maxSchemaBytes = 16 * 1024
/** A JSON Schema (an object), at most 16 KB of JSON. */
export const JsonSchemaSchema = v.pipe(
  v.record(v.string(), v.unknown()),
  v.check((schema) => jsonByteLength(schema) <= maxSchemaBytes, `a JSON schema is at most ${maxSchemaBytes / 1024} KB`),
)

/** OpenAI's function tool: what the model may call, with a JSON Schema of its arguments. */
export const ToolSchema = v.object({
  type: v.literal('function'),
  function: v.object({
    name: ToolName,
    description: v.optional(v.pipe(v.string(), v.maxLength(4000))),
    parameters: v.optional(JsonSchemaSchema),
    strict: v.optional(v.nullable(v.boolean())),
  }),
})
export type Tool = v.InferOutput<typeof ToolSchema>

/** A call the model made: `arguments` is JSON text, as OpenAI sends it. */
export const ToolCallSchema = v.object({
  id: ToolCallId,
  type: v.literal('function'),
  function: v.object({ name: ToolName, arguments: v.pipe(v.string(), v.maxLength(65_536)) }),
})
export type ToolCall = v.InferOutput<typeof ToolCallSchema>

export const ToolChoiceSchema = v.union([v.picklist(['none', 'auto', 'required']), v.object({ type: v.literal('function'), function: v.object({ name: ToolName }) })])
export type ToolChoice = v.InferOutput<typeof ToolChoiceSchema>

export const ChatMessageSchema = v.variant('role', [
  v.object({ role: v.picklist(['system', 'user']), content: Content }),
  v.object({ role: v.literal('assistant'), content: Content, tool_calls: v.optional(v.pipe(v.array(ToolCallSchema), v.minLength(1), v.maxLength(16))) }),
  /** A tool's answer to the call `tool_call_id` of the assistant message before it. */
  v.object({ role: v.literal('tool'), content: Content, tool_call_id: ToolCallId }),
])
export type ChatMessage = v.InferOutput<typeof ChatMessageSchema>

/** `text`, any JSON object, or JSON that validates against a schema (constrained decoding). */
export const ResponseFormatSchema = v.variant('type', [
  v.object({ type: v.literal('text') }),
  v.object({ type: v.literal('json_object') }),
  v.object({
    type: v.literal('json_schema'),
    json_schema: v.object({
      name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'json_schema.name is 1 to 64 letters, digits, _ or -')),
      description: v.optional(v.pipe(v.string(), v.maxLength(4000))),
      schema: JsonSchemaSchema,
      strict: v.optional(v.nullable(v.boolean())),
    }),
  }),
])
export type ResponseFormat = v.InferOutput<typeof ResponseFormatSchema>

/** An OpenAI chat request, the subset every engine honours, plus Qwen3's thinking switch. */
export const ChatRequestSchema = v.object({
  messages: v.pipe(v.array(ChatMessageSchema), v.minLength(1, 'messages is empty'), v.maxLength(256)),
  max_tokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(32_768))),
  temperature: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(2))),
  top_p: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  stop: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(64))), v.maxLength(8))),
  seed: v.optional(v.pipe(v.number(), v.integer())),
  /** Qwen3's `enable_thinking`: false asks for a direct answer with no `<think>` part. */
  enable_thinking: v.optional(v.boolean()),
  response_format: v.optional(ResponseFormatSchema),
  /** Functions the model may call; an engine without `supports.tools` refuses the request. */
  tools: v.optional(v.pipe(v.array(ToolSchema), v.maxLength(32))),
  tool_choice: v.optional(ToolChoiceSchema),
})
export type ChatRequest = v.InferOutput<typeof ChatRequestSchema>

export type FinishReason = 'stop' | 'length' | 'abort' | 'tool_calls'

/** One streamed piece of a tool call: the first names it (`id`, `function.name`), later ones add `arguments` text. */
export interface ToolCallDelta {
  index: number
  id?: string
  type?: 'function'
  function: { name?: string; arguments?: string }
}

/** OpenAI's `chat.completion.chunk`. Content is raw: a `<think>…</think>` part stays in it. */
export interface ChatChunk {
  id: string
  object: 'chat.completion.chunk'
  created: number
  model: string
  choices: [{ index: 0; delta: { role?: 'assistant'; content?: string; tool_calls?: ToolCallDelta[] }; finish_reason: FinishReason | null }]
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}

export interface LoadProgress {
  phase: 'download' | 'load'
  loadedBytes: number
  /** 0 when unknown. */
  totalBytes: number
  /** Shown to the user as is. */
  text: string
}

/** Whether a chat sent now runs at once, after a load that is under way, or not at all. */
export type EngineAvailability = 'ready' | 'loading' | 'unavailable'

/** Tool calls (`tools`, `tool_choice`, tool messages) and constrained JSON (`response_format` json_object / json_schema). */
export interface EngineSupports {
  tools: boolean
  jsonSchema: boolean
}

export const noSupports: EngineSupports = { tools: false, jsonSchema: false }

export interface EngineInfo {
  kind: EngineKind
  modelId: string
  /** Tokens the model holds, prompt and answer together; 0 while unknown. */
  contextSize: number
  availability: EngineAvailability
  /** Why the engine is unavailable (or not the one asked for), in words for the user. */
  reason?: string
  /** What the engine does beyond text: a request that asks for more is refused with a named error. */
  supports: EngineSupports
  /** Measured on the last request; 0 before any. */
  prefillTokensPerS: number
  decodeTokensPerS: number
  /** CPU threads the engine computes on, once loaded (the WASM engine: 1 unless cross-origin isolated); absent where it does not say. */
  threads?: number
}

/** Tokens of each message as the engine's chat template frames it; `exact` when its own tokenizer counted them. */
export interface TokenCount {
  perMessage: number[]
  exact: boolean
}

export type EngineState =
  { state: 'none'; reason?: string } | { state: 'downloading'; fraction: number } | { state: 'loading' } | { state: 'ready' } | { state: 'busy' } | { state: 'failed'; reason: string }

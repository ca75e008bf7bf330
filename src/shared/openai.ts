// OpenAI's chat completions wire format: the request schema the relay validates against, and
// the shapes of chunks, completions, models and errors. Pure: no node or browser imports.
import * as v from 'valibot'

const maxTextChars = 1_000_000

const TextPartSchema = v.object({ type: v.literal('text'), text: v.pipe(v.string(), v.maxLength(maxTextChars)) })

/** Caps on the tool fields: OpenAI's own where it has one (128 tools, 64-character names). */
export const toolLimits = {
  tools: 128,
  callsPerMessage: 64,
  descriptionChars: 8_192,
  argumentsChars: 256 * 1024,
  /** A JSON schema's size as JSON, and how deeply its objects and arrays nest. */
  schemaBytes: 64 * 1024,
  schemaDepth: 32,
} as const

const FunctionName = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a function name is 1 to 64 letters, digits, _ . or -'))
const ToolCallId = v.pipe(v.string(), v.minLength(1, 'a tool call id is empty'), v.maxLength(256))

/** How deeply `value`'s objects and arrays nest, counting up to `limit + 1` at most. */
function depthOf(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0
  if (limit < 0) return 1
  let deepest = 0
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child, limit - 1))
  return deepest + 1
}

/** A JSON schema: an object, capped in bytes and in depth (a grammar is compiled from it). */
const JsonSchemaObject = v.pipe(
  v.record(v.string(), v.unknown(), 'a JSON schema must be an object'),
  v.check((schema) => depthOf(schema, toolLimits.schemaDepth) <= toolLimits.schemaDepth, `a JSON schema nests at most ${toolLimits.schemaDepth} levels`),
  v.check((schema) => new TextEncoder().encode(JSON.stringify(schema)).byteLength <= toolLimits.schemaBytes, `a JSON schema is at most ${toolLimits.schemaBytes / 1024} KiB of JSON`),
)

export const WireToolCallSchema = v.looseObject({
  id: ToolCallId,
  type: v.literal('function', 'a tool call is of type function'),
  function: v.looseObject({ name: FunctionName, arguments: v.pipe(v.string(), v.maxLength(toolLimits.argumentsChars)) }),
})
export type WireToolCall = v.InferOutput<typeof WireToolCallSchema>

export const ChatCompletionMessageSchema = v.pipe(
  v.looseObject({
    role: v.picklist(['system', 'developer', 'user', 'assistant', 'tool'], 'role must be system, developer, user, assistant or tool'),
    content: v.union([v.pipe(v.string(), v.maxLength(maxTextChars)), v.pipe(v.array(TextPartSchema), v.maxLength(256)), v.null()], 'content must be a string, an array of text parts or null'),
    name: v.optional(v.pipe(v.string(), v.maxLength(256))),
    /** An assistant message's calls; null is sent by some clients for none. */
    tool_calls: v.optional(v.nullable(v.pipe(v.array(WireToolCallSchema), v.maxLength(toolLimits.callsPerMessage)))),
    /** A tool message answers this call of the assistant message before it. */
    tool_call_id: v.optional(ToolCallId),
  }),
  v.forward(
    v.check((message) => message.role !== 'tool' || message.tool_call_id !== undefined, 'a tool message needs tool_call_id'),
    ['tool_call_id'],
  ),
  v.forward(
    v.check((message) => message.role === 'assistant' || message.tool_calls == null, 'only an assistant message has tool_calls'),
    ['tool_calls'],
  ),
)
export type ChatCompletionMessage = v.InferOutput<typeof ChatCompletionMessageSchema>

export const WireToolSchema = v.looseObject({
  type: v.literal('function', 'a tool is of type function'),
  function: v.looseObject({
    name: FunctionName,
    description: v.optional(v.pipe(v.string(), v.maxLength(toolLimits.descriptionChars))),
    parameters: v.optional(JsonSchemaObject),
    strict: v.optional(v.nullable(v.boolean())),
  }),
})
export type WireTool = v.InferOutput<typeof WireToolSchema>

export const WireToolChoiceSchema = v.union(
  [v.picklist(['none', 'auto', 'required']), v.looseObject({ type: v.literal('function'), function: v.looseObject({ name: FunctionName }) })],
  'tool_choice must be none, auto, required or { type: "function", function: { name } }',
)
export type WireToolChoice = v.InferOutput<typeof WireToolChoiceSchema>

export const WireResponseFormatSchema = v.variant(
  'type',
  [
    v.looseObject({ type: v.literal('text') }),
    v.looseObject({ type: v.literal('json_object') }),
    v.looseObject({
      type: v.literal('json_schema'),
      json_schema: v.looseObject({
        name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'json_schema.name is 1 to 64 letters, digits, _ or -')),
        description: v.optional(v.pipe(v.string(), v.maxLength(toolLimits.descriptionChars))),
        schema: v.optional(JsonSchemaObject),
        strict: v.optional(v.nullable(v.boolean())),
      }),
    }),
  ],
  'response_format.type must be text, json_object or json_schema',
)
export type WireResponseFormat = v.InferOutput<typeof WireResponseFormatSchema>

/** OpenAI's `reasoning_effort` values; `none` asks for no thinking. */
export const reasoningEfforts = ['none', 'minimal', 'low', 'medium', 'high'] as const
export type ReasoningEffort = (typeof reasoningEfforts)[number]

const stopSequence = v.pipe(v.string(), v.minLength(1), v.maxLength(256))

const penalty = v.pipe(v.number(), v.minValue(-2), v.maxValue(2))

/**
 * Sampling fields past temperature, top_p, seed and stop, checked for their type here; whether
 * a backend honours them is its own (src/relay/v1/sampling.ts refuses the rest by name).
 * `top_k`, `min_p` and `repeat_penalty` are llama.cpp's and vLLM's, not OpenAI's.
 */
const samplingEntries = {
  frequency_penalty: v.optional(v.nullable(penalty)),
  presence_penalty: v.optional(v.nullable(penalty)),
  repeat_penalty: v.optional(v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(10)))),
  top_k: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(-1)))),
  min_p: v.optional(v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(1)))),
  /** Token id (as a string) to a bias from -100 (never) to 100 (only), added to its logit. */
  logit_bias: v.optional(
    v.nullable(
      v.pipe(
        v.record(v.pipe(v.string(), v.regex(/^\d{1,9}$/, 'logit_bias keys are token ids')), v.pipe(v.number(), v.minValue(-100), v.maxValue(100))),
        v.check((bias) => Object.keys(bias).length <= 1024, 'at most 1024 logit_bias entries'),
      ),
    ),
  ),
  /** The end user, for an upstream's abuse monitoring: metadata, not sampling. */
  user: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
} as const

/** What every request that generates takes: the model, the answer's length, sampling, streaming. */
const generationEntries = {
  model: v.pipe(v.string('model is required'), v.minLength(1, 'model is empty'), v.maxLength(256)),
  stream: v.optional(v.nullable(v.boolean())),
  stream_options: v.optional(v.nullable(v.looseObject({ include_usage: v.optional(v.nullable(v.boolean())) }))),
  max_tokens: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1)))),
  temperature: v.optional(v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(2)))),
  top_p: v.optional(v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(1)))),
  seed: v.optional(v.nullable(v.pipe(v.number(), v.integer()))),
  stop: v.optional(v.nullable(v.union([stopSequence, v.pipe(v.array(stopSequence), v.maxLength(4))]))),
  n: v.optional(v.nullable(v.literal(1, 'only n = 1 is supported'))),
  ...samplingEntries,
} as const

/**
 * A `POST /v1/chat/completions` body: the fields we know, checked. Unknown fields are kept (an
 * upstream may honour them); a backend that does not pass them on refuses them by name
 * (src/relay/v1/sampling.ts). Caps that depend on configuration (message count, `max_tokens`)
 * are checked by the relay.
 */
export const ChatCompletionRequestSchema = v.looseObject({
  ...generationEntries,
  messages: v.pipe(v.array(ChatCompletionMessageSchema, 'messages must be an array'), v.minLength(1, 'messages is empty')),
  max_completion_tokens: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1)))),
  logprobs: v.optional(v.nullable(v.boolean())),
  top_logprobs: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(20)))),
  tools: v.optional(v.nullable(v.pipe(v.array(WireToolSchema, 'tools must be an array'), v.maxLength(toolLimits.tools, `at most ${toolLimits.tools} tools`)))),
  tool_choice: v.optional(v.nullable(WireToolChoiceSchema)),
  response_format: v.optional(v.nullable(WireResponseFormatSchema)),
  /** Qwen3's thinking switch: top level (as the browser engines take it), or as vLLM and llama-server take it. */
  enable_thinking: v.optional(v.nullable(v.boolean('enable_thinking must be true or false'))),
  chat_template_kwargs: v.optional(v.nullable(v.looseObject({ enable_thinking: v.optional(v.nullable(v.boolean('chat_template_kwargs.enable_thinking must be true or false'))) }))),
  reasoning_effort: v.optional(v.nullable(v.picklist(reasoningEfforts, 'reasoning_effort must be none, minimal, low, medium or high'))),
})
export type ChatCompletionRequest = v.InferOutput<typeof ChatCompletionRequestSchema>

/**
 * A `POST /v1/completions` body (OpenAI's legacy text completions): one prompt as text (token
 * arrays and batches are refused), `suffix` for fill-in-the-middle, `echo` to lead with the prompt.
 */
export const CompletionRequestSchema = v.looseObject({
  ...generationEntries,
  prompt: v.union(
    [v.pipe(v.string(), v.maxLength(maxTextChars)), v.pipe(v.array(v.pipe(v.string(), v.maxLength(maxTextChars))), v.length(1))],
    'prompt must be a string or an array of exactly one string (token arrays and several prompts are not supported)',
  ),
  suffix: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(maxTextChars)))),
  echo: v.optional(v.nullable(v.boolean())),
  best_of: v.optional(v.nullable(v.literal(1, 'only best_of = 1 is supported'))),
  /** How many top tokens' log probabilities to return with each token (0 to 5). */
  logprobs: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(5)))),
})
export type CompletionRequest = v.InferOutput<typeof CompletionRequestSchema>

export type FinishReason = 'stop' | 'length' | 'tool_calls'

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

/** One streamed piece of a call, as OpenAI sends it: the first of a call has its id and name, later ones more `arguments` text. */
export interface WireToolCallDelta {
  index: number
  id?: string
  type?: 'function'
  function?: { name?: string; arguments?: string }
}

export interface ChunkChoice {
  index: number
  /** `reasoning_content`: the model's thinking (Qwen3's `<think>` part), split out of `content` as llama-server and vLLM send it. */
  delta: { role?: 'assistant'; content?: string | null; reasoning_content?: string | null; tool_calls?: WireToolCallDelta[] }
  finish_reason: FinishReason | null
  logprobs?: null
}

/** `chat.completion.chunk`; the usage chunk has no choices, as OpenAI sends it. */
export interface ChatCompletionChunk {
  id: string
  object: 'chat.completion.chunk'
  created: number
  model: string
  choices: ChunkChoice[]
  usage?: Usage | null
}

export interface ChatCompletion {
  id: string
  object: 'chat.completion'
  created: number
  model: string
  /** `content` is null when the answer is calls only, as OpenAI sends it. */
  choices: [{ index: 0; message: { role: 'assistant'; content: string | null; reasoning_content?: string; tool_calls?: WireToolCall[] }; finish_reason: FinishReason; logprobs: null }]
  usage: Usage
}

/** One streamed piece of a `/v1/completions` answer (`text_completion`); the usage chunk has no choices. */
export interface TextCompletionChunk {
  id: string
  object: 'text_completion'
  created: number
  model: string
  choices: { index: number; text: string; finish_reason: FinishReason | null; logprobs: null }[]
  usage?: Usage | null
}

/** A whole `/v1/completions` answer. */
export interface TextCompletion {
  id: string
  object: 'text_completion'
  created: number
  model: string
  choices: [{ index: 0; text: string; finish_reason: FinishReason; logprobs: null }]
  usage: Usage
}

/** Builds the chunks of one streamed text completion. */
export function textChunkBuilder(model: string, id = `cmpl-${crypto.randomUUID()}`) {
  const created = Math.floor(Date.now() / 1000)
  const base = { id, object: 'text_completion' as const, created, model }
  return {
    text: (text: string): TextCompletionChunk => ({ ...base, choices: [{ index: 0, text, finish_reason: null, logprobs: null }] }),
    finish: (reason: FinishReason): TextCompletionChunk => ({ ...base, choices: [{ index: 0, text: '', finish_reason: reason, logprobs: null }] }),
    usage: (usage: Usage): TextCompletionChunk => ({ ...base, choices: [], usage }),
  }
}

export interface ModelInfo {
  id: string
  object: 'model'
  created: number
  owned_by: string
  /** Tokens one request may hold, prompt and answer together (vLLM's field); absent while unknown. */
  max_model_len?: number
}

export interface ModelList {
  object: 'list'
  data: ModelInfo[]
}

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'server_error' | 'not_implemented'

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null }
}

/** An upstream chunk as it comes over the wire: checked, unknown fields kept. */
export const ChatCompletionChunkSchema = v.looseObject({
  id: v.string(),
  object: v.literal('chat.completion.chunk'),
  created: v.number(),
  model: v.string(),
  choices: v.array(
    v.looseObject({
      index: v.number(),
      delta: v.looseObject({
        role: v.optional(v.nullable(v.string())),
        content: v.optional(v.nullable(v.string())),
        reasoning_content: v.optional(v.nullable(v.string())),
        tool_calls: v.optional(
          v.nullable(
            v.pipe(
              v.array(
                v.looseObject({
                  index: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(toolLimits.callsPerMessage - 1)),
                  id: v.optional(v.nullable(ToolCallId)),
                  type: v.optional(v.nullable(v.literal('function'))),
                  function: v.optional(
                    v.nullable(v.looseObject({ name: v.optional(v.nullable(FunctionName)), arguments: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(toolLimits.argumentsChars)))) })),
                  ),
                }),
              ),
              v.maxLength(toolLimits.callsPerMessage),
            ),
          ),
        ),
      }),
      finish_reason: v.nullable(v.string()),
    }),
  ),
  usage: v.optional(v.nullable(v.looseObject({ prompt_tokens: v.number(), completion_tokens: v.number(), total_tokens: v.number() }))),
})
export type WireChunk = v.InferOutput<typeof ChatCompletionChunkSchema>

/** An upstream's `/completions` chunk as it comes over the wire: checked, unknown fields kept. */
export const TextCompletionChunkSchema = v.looseObject({
  id: v.string(),
  object: v.literal('text_completion'),
  created: v.number(),
  model: v.string(),
  choices: v.array(v.looseObject({ index: v.number(), text: v.pipe(v.string(), v.maxLength(maxTextChars)), finish_reason: v.nullable(v.string()) })),
  usage: v.optional(v.nullable(v.looseObject({ prompt_tokens: v.number(), completion_tokens: v.number(), total_tokens: v.number() }))),
})

export const ErrorBodySchema = v.object({
  error: v.looseObject({ message: v.string(), type: v.optional(v.nullable(v.string())), param: v.optional(v.unknown()), code: v.optional(v.unknown()) }),
})

export const ModelListSchema = v.object({
  data: v.array(v.looseObject({ id: v.string(), owned_by: v.optional(v.string()), created: v.optional(v.number()), max_model_len: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))) })),
})

/** The text of a message's content, text parts joined. */
export function messageText(message: ChatCompletionMessage): string {
  const { content } = message
  if (content === null) return ''
  if (typeof content === 'string') return content
  return content.map((part) => part.text).join('')
}

/** The stop sequences of a request as a list. */
export function stopSequences(request: Pick<ChatCompletionRequest, 'stop'>): string[] {
  const { stop } = request
  if (stop === undefined || stop === null) return []
  return typeof stop === 'string' ? [stop] : stop
}

/** A rough count (4 characters a token) for a backend that reported none. */
export function roughUsage(promptChars: number, completionChars: number): Usage {
  const prompt_tokens = Math.ceil(promptChars / 4)
  const completion_tokens = Math.ceil(completionChars / 4)
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens }
}

/** Builds the chunks of one streamed completion; the `first` content chunk also names the role. */
export function chunkBuilder(model: string, id = `chatcmpl-${crypto.randomUUID()}`) {
  const created = Math.floor(Date.now() / 1000)
  const base = { id, object: 'chat.completion.chunk' as const, created, model }
  return {
    role: (): ChatCompletionChunk => ({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
    content: (text: string, first = false): ChatCompletionChunk => ({
      ...base,
      choices: [{ index: 0, delta: first ? { role: 'assistant', content: text } : { content: text }, finish_reason: null }],
    }),
    /** Pieces of calls (the first of each with its id and name). */
    toolCalls: (deltas: WireToolCallDelta[]): ChatCompletionChunk => ({ ...base, choices: [{ index: 0, delta: { tool_calls: deltas }, finish_reason: null }] }),
    finish: (reason: FinishReason): ChatCompletionChunk => ({ ...base, choices: [{ index: 0, delta: {}, finish_reason: reason }] }),
    usage: (usage: Usage): ChatCompletionChunk => ({ ...base, choices: [], usage }),
  }
}

// Ollama's API as the relay reads it: the request bodies of /api/chat, /api/generate,
// /api/embed, /api/embeddings and /api/show, checked, and the shapes of what it answers.
// Unknown top-level fields are kept and otherwise ignored, as Ollama does; the options and
// fields the relay cannot honour are refused by the routes with a 400 naming them.
import * as v from 'valibot'
import { maxEmbeddingDimensions, maxEmbeddingInputChars, maxEmbeddingInputs } from '../../shared/embeddings'

const maxTextChars = 1_000_000
const ModelName = v.pipe(v.string('model is required'), v.minLength(1, 'model is empty'), v.maxLength(256))
const Text = v.pipe(v.string(), v.maxLength(maxTextChars))

/** `options`: Ollama's runtime and sampling parameters, checked one by one in options.ts. */
const OptionsSchema = v.optional(v.nullable(v.record(v.string(), v.unknown(), 'options must be an object')))

/** Images ride along as base64 strings; the relay's backends read text only, so any is refused. */
const ImagesSchema = v.optional(v.nullable(v.pipe(v.array(v.string()), v.maxLength(64))))

export const OllamaToolCallSchema = v.looseObject({
  function: v.looseObject({
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
    arguments: v.optional(v.record(v.string(), v.unknown(), 'a tool call’s arguments are an object')),
  }),
})
export type OllamaToolCall = v.InferOutput<typeof OllamaToolCallSchema>

export const OllamaMessageSchema = v.looseObject({
  role: v.picklist(['system', 'user', 'assistant', 'tool'], 'role must be system, user, assistant or tool'),
  content: v.optional(v.nullable(Text)),
  thinking: v.optional(v.nullable(Text)),
  images: ImagesSchema,
  tool_calls: v.optional(v.nullable(v.pipe(v.array(OllamaToolCallSchema), v.maxLength(64)))),
  /** A tool message names the function whose result it carries. */
  tool_name: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64)))),
})
export type OllamaMessage = v.InferOutput<typeof OllamaMessageSchema>

/** `format`: `"json"`, or a JSON schema the answer must follow; `""` is none. */
const FormatSchema = v.optional(v.nullable(v.union([v.string(), v.record(v.string(), v.unknown())], 'format must be "json" or a JSON schema object')))

/** `think`: whether a thinking model thinks; the levels are gpt-oss's, mapped to reasoning_effort. */
const ThinkSchema = v.optional(v.nullable(v.union([v.boolean(), v.picklist(['high', 'medium', 'low'])], 'think must be true, false, "high", "medium" or "low"')))

const shared = {
  model: ModelName,
  stream: v.optional(v.nullable(v.boolean())),
  format: FormatSchema,
  options: OptionsSchema,
  think: ThinkSchema,
  /** How long Ollama keeps the model loaded; the relay keeps its model loaded always. */
  keep_alive: v.optional(v.nullable(v.union([v.string(), v.number()]))),
  logprobs: v.optional(v.nullable(v.boolean())),
  top_logprobs: v.optional(v.nullable(v.number())),
}

export const OllamaChatRequestSchema = v.looseObject({
  ...shared,
  /** Empty or absent: Ollama's way to load the model, answered `done_reason: "load"`. */
  messages: v.optional(v.nullable(v.pipe(v.array(OllamaMessageSchema, 'messages must be an array'), v.maxLength(100_000)))),
  tools: v.optional(v.nullable(v.pipe(v.array(v.looseObject({ type: v.optional(v.string()), function: v.looseObject({ name: v.string() }) }), 'tools must be an array'), v.maxLength(1024)))),
})
export type OllamaChatRequest = v.InferOutput<typeof OllamaChatRequestSchema>

export const OllamaGenerateRequestSchema = v.looseObject({
  ...shared,
  /** Empty or absent without a suffix: load the model, answered `done_reason: "load"`. */
  prompt: v.optional(v.nullable(Text)),
  suffix: v.optional(v.nullable(Text)),
  system: v.optional(v.nullable(Text)),
  template: v.optional(v.nullable(Text)),
  /** The tokens of an earlier answer to continue (deprecated by Ollama); the relay keeps none. */
  context: v.optional(v.nullable(v.array(v.number()))),
  raw: v.optional(v.nullable(v.boolean())),
  images: ImagesSchema,
})
export type OllamaGenerateRequest = v.InferOutput<typeof OllamaGenerateRequestSchema>

/** The caps of /v1/embeddings: as many texts, as long. */
const EmbedText = v.pipe(v.string(), v.minLength(1, 'an input text is empty'), v.maxLength(maxEmbeddingInputChars, `an input text is over ${maxEmbeddingInputChars} characters`))

export const OllamaEmbedRequestSchema = v.looseObject({
  model: ModelName,
  input: v.union(
    [EmbedText, v.pipe(v.array(EmbedText), v.minLength(1, 'input is empty'), v.maxLength(maxEmbeddingInputs, `input has more than ${maxEmbeddingInputs} texts`))],
    'input must be a string or an array of strings',
  ),
  /** Ollama cuts a text past the model's window unless this is false; the relay never cuts (a text too long is a 400), so `true` is refused. */
  truncate: v.optional(v.nullable(v.boolean())),
  dimensions: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(maxEmbeddingDimensions)))),
  options: OptionsSchema,
  keep_alive: shared.keep_alive,
})
export type OllamaEmbedRequest = v.InferOutput<typeof OllamaEmbedRequestSchema>

/** The legacy `/api/embeddings`: one prompt, one `embedding`. */
export const OllamaEmbeddingsRequestSchema = v.looseObject({ model: ModelName, prompt: EmbedText, options: OptionsSchema, keep_alive: shared.keep_alive })

/** `/api/show` names the model as `model`, older clients as `name`. */
export const OllamaShowRequestSchema = v.pipe(
  v.looseObject({ model: v.optional(ModelName), name: v.optional(ModelName), verbose: v.optional(v.nullable(v.boolean())) }),
  v.check((request) => request.model !== undefined || request.name !== undefined, 'model is required'),
)

export interface OllamaModelDetails {
  parent_model: string
  format: string
  family: string
  families: string[] | null
  parameter_size: string
  quantization_level: string
}

/** One entry of `/api/tags`. */
export interface OllamaModelEntry {
  name: string
  model: string
  modified_at: string
  size: number
  digest: string
  details: OllamaModelDetails
}

/** The counts and durations (nanoseconds) of a finished answer, as Ollama sends them. */
export interface OllamaTimings {
  total_duration: number
  load_duration: number
  prompt_eval_count: number
  prompt_eval_duration: number
  eval_count: number
  eval_duration: number
}

/** What a backend's answer is made of, in Ollama's terms: text, thinking, whole calls. */
export interface OllamaPiece {
  content: string
  thinking: string
  toolCalls: OllamaToolCall[]
}

export type OllamaDoneReason = 'stop' | 'length' | 'load'

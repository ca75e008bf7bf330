import * as v from 'valibot'

export type EngineKind = 'webgpu' | 'wasm' | 'peer' | 'relay'

/** Which local engine to run (the URL's `engine=`): pick the best, force one, or none. */
export const engineChoices = ['auto', 'webgpu', 'wasm', 'none'] as const
export type EngineChoice = (typeof engineChoices)[number]

export const ChatMessageSchema = v.object({
  role: v.picklist(['system', 'user', 'assistant']),
  content: v.pipe(v.string(), v.maxLength(200_000)),
})
export type ChatMessage = v.InferOutput<typeof ChatMessageSchema>

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
  response_format: v.optional(v.object({ type: v.picklist(['text', 'json_object']) })),
})
export type ChatRequest = v.InferOutput<typeof ChatRequestSchema>

export type FinishReason = 'stop' | 'length' | 'abort'

/** OpenAI's `chat.completion.chunk`. Content is raw: a `<think>…</think>` part stays in it. */
export interface ChatChunk {
  id: string
  object: 'chat.completion.chunk'
  created: number
  model: string
  choices: [{ index: 0; delta: { role?: 'assistant'; content?: string }; finish_reason: FinishReason | null }]
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

export interface EngineInfo {
  kind: EngineKind
  modelId: string
  /** Tokens the model holds, prompt and answer together; 0 while unknown. */
  contextSize: number
  availability: EngineAvailability
  /** Why the engine is unavailable (or not the one asked for), in words for the user. */
  reason?: string
  /** Measured on the last request; 0 before any. */
  prefillTokensPerS: number
  decodeTokensPerS: number
}

export type EngineState =
  { state: 'none'; reason?: string } | { state: 'downloading'; fraction: number } | { state: 'loading' } | { state: 'ready' } | { state: 'busy' } | { state: 'failed'; reason: string }

import type { ChatCompletionChunk, ChatCompletionRequest, ModelInfo, TextCompletionChunk } from '../../shared/openai'
import type { NumericSamplingField, SamplingSupport } from './sampling'

export type BackendName = 'embedded' | 'upstream' | 'swarm'

/** `download`: the embedded model's bytes while RELAY_MODEL downloads (absent once it loads from disk). */
export type BackendState =
  | { state: 'loading'; download?: { downloadedBytes: number; totalBytes: number } }
  | { state: 'ready'; active: number; queued: number }
  | { state: 'unreachable'; reason: string }
  | { state: 'failed'; reason: string }

/** A request as a backend gets it: validated, caps applied, `max_tokens` always set. */
export type BackendRequest = ChatCompletionRequest & { max_tokens: number }

/**
 * A raw-prompt completion as a backend gets it (`POST /v1/completions`, Ollama's raw
 * `/api/generate`): validated, caps applied, `max_tokens` always set, one prompt. Sampling
 * fields a backend does not honour are refused with a 400 naming them before it runs.
 */
export interface CompletionBackendRequest {
  model: string
  prompt: string
  /** The text after the insertion point (fill-in-the-middle); a backend or model without infill answers 400 naming `suffix`. */
  suffix?: string
  max_tokens: number
  temperature?: number
  top_p?: number
  seed?: number
  stop: string[]
  /** Further sampling fields (`frequency_penalty`, `presence_penalty`, …), by their OpenAI names, already checked as honoured. */
  sampling?: Readonly<Partial<Record<NumericSamplingField, number>>>
  /** Token id (as a string) to a bias added to its logit, from -100 (never) to 100. */
  logit_bias?: Readonly<Record<string, number>>
  /** Fields the relay does not know, as the client sent them: only for a backend that passes them on (SamplingSupport.passesUnknown). */
  extra?: Readonly<Record<string, unknown>>
}

/** Texts to embed, one vector each (`POST /v1/embeddings`, Ollama's `/api/embed`). */
export interface EmbeddingBackendRequest {
  model: string
  input: readonly string[]
}

export interface Embeddings {
  /** The model that made them: vectors of different models are never compared. */
  model: string
  /** One per input, in order. */
  vectors: number[][]
  promptTokens: number
}

/** What /healthz shows of a backend besides its state (the gateway's rooms and drops). */
export type BackendDetails = Readonly<Record<string, unknown>>

/**
 * One way the relay answers chat requests. `chat` yields content chunks, then one chunk with
 * a finish reason, then one usage chunk (no choices); it throws ApiError for what the client
 * should see, and stops when `signal` aborts.
 */
export interface Backend {
  readonly name: BackendName
  /** Whether `model` names this backend's model (the upstream also takes names it lists). */
  serves(model: string): boolean
  /** The sampling fields it honours past the common ones; the routes refuse the rest (./sampling.ts). Absent: none. */
  readonly sampling?: SamplingSupport
  models(signal: AbortSignal): Promise<ModelInfo[]>
  chat(request: BackendRequest, signal: AbortSignal): AsyncIterable<ChatCompletionChunk>
  /**
   * Continues a raw prompt: `text_completion` chunks with text, then one with a finish reason,
   * then one usage chunk (no choices). A backend without it: 501 from the route.
   */
  complete?(request: CompletionBackendRequest, signal: AbortSignal): AsyncIterable<TextCompletionChunk>
  /** One vector per input text. A backend without it: 501 from the route. */
  embed?(request: EmbeddingBackendRequest, signal: AbortSignal): Promise<Embeddings>
  state(): BackendState
  details?(): BackendDetails
  /** The relay is shutting down: end in-flight answers now, each with `relayRestarting`, rather than let the socket cut them. */
  stop?(): void
  close(): Promise<void>
}

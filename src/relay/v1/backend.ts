import type { ChatCompletionChunk, ChatCompletionRequest, ModelInfo } from '../../shared/openai'

export type BackendName = 'embedded' | 'upstream' | 'swarm'

export type BackendState = { state: 'loading' } | { state: 'ready'; active: number; queued: number } | { state: 'unreachable'; reason: string } | { state: 'failed'; reason: string }

/** A request as a backend gets it: validated, caps applied, `max_tokens` always set. */
export type BackendRequest = ChatCompletionRequest & { max_tokens: number }

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
  models(signal: AbortSignal): Promise<ModelInfo[]>
  chat(request: BackendRequest, signal: AbortSignal): AsyncIterable<ChatCompletionChunk>
  state(): BackendState
  details?(): BackendDetails
  /** The relay is shutting down: end in-flight answers now, each with `relayRestarting`, rather than let the socket cut them. */
  stop?(): void
  close(): Promise<void>
}

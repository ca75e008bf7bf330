import type { ChatChunk, ChatMessage, ChatRequest, EngineInfo, EngineKind, LoadProgress, TokenCount } from './types'

/**
 * One way to run a chat: a model in this browser (WebGPU, WASM), a peer, or the relay. The core
 * and the UI depend on this and nothing else; every implementation passes test/contracts/engine.
 */
export interface Engine {
  readonly kind: EngineKind
  /** Downloads (or reads from cache) and loads the model; progress as it goes. */
  load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void>
  /** Streams OpenAI chunks; the last carries `finish_reason` and `usage`. Abort ends it early. */
  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk>
  info(): EngineInfo
  /** Tokens of each message with the model's own tokenizer; an engine without one leaves this out (callers estimate). */
  countTokens?(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<TokenCount>
  unload(): Promise<void>
}

// A relay Backend (the embedded one, node-llama-cpp on the tiny GGUF) as a node's own engine,
// for the swarm suite's executor: a `wasm` engine, as a browser node running this GGUF with
// wllama is, that honours tools and JSON schemas and writes its calls as Qwen3's text (what
// the market's result carries, and what a model without native function calling writes).
import { chunkFactory } from '../../../src/inference/chunks'
import type { Engine } from '../../../src/inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo, FinishReason } from '../../../src/inference/types'
import type { Backend, BackendRequest } from '../../../src/relay/v1/backend'
import { toolCallText } from '../../../src/shared/tool-calls'
import { untilReady } from './tiny-model'

export class BackendEngine implements Engine {
  readonly kind = 'wasm' as const
  #speed = { prefillTokensPerS: 0, decodeTokensPerS: 0 }

  constructor(
    private readonly backend: Backend,
    private readonly model: string,
    private readonly contextSize: number,
  ) {}

  load(): Promise<void> {
    return untilReady(this.backend)
  }

  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
    // Qwen3's switch goes on to the model as the relay's /v1 takes it.
    const asked: BackendRequest = { ...request, model: this.model, max_tokens: request.max_tokens ?? 256 }
    const chunks = chunkFactory(this.model)
    const calls = new Map<number, { name: string; arguments: string }>()
    let finish: FinishReason = 'stop'
    let usage: ChatChunk['usage']
    let first = true
    const startedMs = performance.now()
    let firstMs = 0
    for await (const chunk of this.backend.chat(asked, signal ?? new AbortController().signal)) {
      if (chunk.usage) usage = chunk.usage
      const choice = chunk.choices[0]
      if (choice === undefined) continue
      for (const delta of choice.delta.tool_calls ?? []) {
        const call = calls.get(delta.index) ?? { name: '', arguments: '' }
        call.name += delta.function?.name ?? ''
        call.arguments += delta.function?.arguments ?? ''
        calls.set(delta.index, call)
      }
      if (choice.finish_reason === 'length' || choice.finish_reason === 'tool_calls') finish = choice.finish_reason
      const text = choice.delta.content ?? ''
      if (text === '') continue
      firstMs ||= performance.now()
      yield chunks.content(text, first)
      first = false
    }
    if (calls.size > 0) yield chunks.content([...calls.values()].map((call) => toolCallText(call.name, call.arguments)).join('\n'), first)
    if (usage && firstMs) {
      const prefillS = (firstMs - startedMs) / 1000
      const decodeS = (performance.now() - firstMs) / 1000
      this.#speed = { prefillTokensPerS: prefillS > 0 ? usage.prompt_tokens / prefillS : 0, decodeTokensPerS: decodeS > 0 ? usage.completion_tokens / decodeS : 0 }
    }
    yield chunks.finish(finish, usage)
  }

  info(): EngineInfo {
    const ready = this.backend.state().state === 'ready'
    return { kind: this.kind, modelId: this.model, contextSize: this.contextSize, availability: ready ? 'ready' : 'unavailable', supports: { tools: true, jsonSchema: true }, ...this.#speed }
  }

  unload(): Promise<void> {
    return this.backend.close()
  }
}

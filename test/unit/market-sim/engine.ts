import type { Engine } from '../../../src/inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../../../src/inference/types'
import { AbortError } from '../../../src/shared/errors'
import { fnv1a } from '../../../src/market/award'
import type { Timers } from '../../../src/market/types'

/** The answer every honest engine gives to a request: a pure function of its messages. */
export function answerOf(request: ChatRequest, faulty = false): string[] {
  const prompt = request.messages.map((message) => message.content).join('\n')
  const count = Math.min(request.max_tokens ?? 16, 64)
  return Array.from({ length: count }, (_, k) => `w${fnv1a(`${faulty ? 'x' : ''}${prompt}/${k}`) % 97}`)
}

/**
 * A deterministic engine on injected (virtual) timers: prefill, then one word per decode
 * step. `faulty` gives a different answer, for the vote.
 */
export class SimEngine implements Engine {
  readonly kind = 'wasm' as const

  constructor(
    private readonly timers: Timers,
    private readonly decodeTokensPerS: number,
    private readonly faulty = false,
    /** Called for each request it starts to answer. */
    private readonly onRun: (request: ChatRequest) => void = () => undefined,
  ) {}

  load(): Promise<void> {
    return Promise.resolve()
  }

  unload(): Promise<void> {
    return Promise.resolve()
  }

  info(): EngineInfo {
    return { kind: 'wasm', modelId: 'sim', contextSize: 4096, availability: 'ready', supports: { tools: false, jsonSchema: false }, prefillTokensPerS: 1000, decodeTokensPerS: this.decodeTokensPerS }
  }

  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    this.onRun(request)
    const words = answerOf(request, this.faulty)
    const promptTokens = request.messages.reduce((sum, message) => sum + Math.ceil(message.content.length / 4), 0)
    await this.#sleep(promptTokens, signal)
    for (const [k, word] of words.entries()) {
      await this.#sleep(1000 / this.decodeTokensPerS, signal)
      yield chunk(k === 0 ? word : ` ${word}`, null)
    }
    yield { ...chunk('', 'stop'), usage: { prompt_tokens: promptTokens, completion_tokens: words.length, total_tokens: promptTokens + words.length } }
  }

  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortError('aborted'))
      const onAbort = () => (this.timers.clearTimeout(handle), reject(new AbortError('aborted')))
      const handle = this.timers.setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), Math.round(ms))
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}

function chunk(content: string, finish: 'stop' | null): ChatChunk {
  return { id: 'sim', object: 'chat.completion.chunk', created: 0, model: 'sim', choices: [{ index: 0, delta: { content }, finish_reason: finish }] }
}

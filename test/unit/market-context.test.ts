// The executor's side of the window: a poster that asks
// for less context than its prompt takes (a lie, or a count of another tokenizer) still never
// overflows it: the executor fits the request again, the oldest turns dropped.
import { describe, expect, it } from 'vitest'
import type { Engine } from '../../src/inference/engine'
import { estimateCount, generationPromptTokens } from '../../src/inference/tokens'
import type { ChatChunk, ChatMessage, ChatRequest, EngineInfo } from '../../src/inference/types'
import { room } from './market-sim/room'

const window = 256

class WindowEngine implements Engine {
  readonly kind = 'wasm' as const
  readonly requests: ChatRequest[] = []
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = (): EngineInfo => ({
    kind: 'wasm',
    modelId: 'sim',
    contextSize: window,
    availability: 'ready',
    supports: { tools: false, jsonSchema: false },
    prefillTokensPerS: 1000,
    decodeTokensPerS: 1000,
  })
  // eslint-disable-next-line @typescript-eslint/require-await
  async *chat(request: ChatRequest): AsyncIterable<ChatChunk> {
    this.requests.push(request)
    yield { id: 'w', object: 'chat.completion.chunk', created: 0, model: 'sim', choices: [{ index: 0, delta: { content: 'fitted' }, finish_reason: 'stop' }] }
  }
}

function history(turns: number): ChatMessage[] {
  const messages: ChatMessage[] = []
  for (let turn = 0; turn < turns; turn++) messages.push({ role: 'user', content: `question ${turn} about the sea` }, { role: 'assistant', content: `answer ${turn} about the sea and the sky` })
  return [...messages, { role: 'user', content: 'the last question' }]
}

describe('context windows in the market', () => {
  it('fits a request whose poster understated its context', async () => {
    const engine = new WindowEngine()
    const { members } = await room([null, engine])
    const [poster] = members as [(typeof members)[0]]
    const request: ChatRequest = { messages: history(30), max_tokens: 64 }
    expect(estimateCount(request.messages).perMessage.reduce((a, b) => a + b, 0)).toBeGreaterThan(window)
    const result = await poster.market.submit(request, { contextSize: 100 }).result
    expect(result.text).toBe('fitted')
    const ran = engine.requests[0]
    expect(ran?.messages.at(-1)).toEqual({ role: 'user', content: 'the last question' })
    expect(estimateCount(ran?.messages ?? []).perMessage.reduce((a, b) => a + b, generationPromptTokens) + (ran?.max_tokens ?? 0)).toBeLessThanOrEqual(window)
    for (const member of members) member.market.destroy()
  })

  it('does not bid on a task whose stated context is larger than its window', async () => {
    const engine = new WindowEngine()
    const { members } = await room([null, engine])
    const [poster] = members as [(typeof members)[0]]
    const handle = poster.market.submit({ messages: history(1), max_tokens: 64 }, { contextSize: window + 1 })
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(engine.requests).toHaveLength(0)
    handle.cancel()
    await handle.result.catch(() => undefined)
    for (const member of members) member.market.destroy()
  })
})

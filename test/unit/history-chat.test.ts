// A routed chat is fitted to the window of the engine that runs it; the turns it leaves out are
// summarised by that engine, kept through the conversation context, and stand in next time.
import { describe, expect, it } from 'vitest'
import type { HistorySummary } from '../../src/inference/fit'
import { estimateCount, generationPromptTokens } from '../../src/inference/tokens'
import type { ChatMessage, ChatRequest } from '../../src/inference/types'
import type { ConversationContext } from '../../src/swarm/context/fitted-chat'
import { ChatRouter } from '../../src/swarm/routing/chat-router'
import { FakeEngine, textOf } from './routing-engines'

function longChat(turns: number): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }]
  for (let turn = 0; turn < turns; turn++) {
    messages.push({ role: 'user', content: `question ${turn} ${'about the river '.repeat(8)}` })
    messages.push({ role: 'assistant', content: `<think>${'hmm '.repeat(100)}</think>answer ${turn} ${'the river is long '.repeat(10)}` })
  }
  return [...messages, { role: 'user', content: 'and now?' }]
}

const promptTokens = (request: ChatRequest | undefined): number => estimateCount(request?.messages ?? []).perMessage.reduce((a, b) => a + b, generationPromptTokens)

describe('fitted chats through the router', () => {
  it('fits to the engine that runs, summarises what it dropped, and uses the summary next time', async () => {
    const engine = new FakeEngine({ kind: 'wasm', modelId: 'tiny', availability: 'ready', contextSize: 1024, words: ['the', ' summary'] })
    const router = new ChatRouter({ nodeId: 'self', engines: { local: engine }, decide: () => Promise.reject(new Error('not asked')) })
    const saved: HistorySummary[] = []
    const context = (summary: HistorySummary | null): ConversationContext => ({ summary, saveSummary: (next) => Promise.resolve(void saved.push(next)) })

    const first = await router.route({ messages: longChat(40), max_tokens: 2048 }, 'local', undefined, context(null))
    await textOf(first.chunks)
    const asked = engine.requests[0]
    expect(asked?.messages[0]).toEqual({ role: 'system', content: 'Be brief.' })
    expect(asked?.messages.at(-1)).toEqual({ role: 'user', content: 'and now?' })
    expect(asked?.messages.some((message) => message.content.includes('<think>'))).toBe(false)
    expect(promptTokens(asked) + (asked?.max_tokens ?? 0)).toBeLessThanOrEqual(1024)
    const fit = first.fit()
    expect(fit?.exact).toBe(false)
    expect(fit?.report.dropped).toBeGreaterThan(0)
    // The engine was asked for a summary of the turns left out, once the answer was streamed.
    expect(engine.requests).toHaveLength(2)
    // The transcript holds as many of the left-out turns as half the window does, the newest first.
    expect(engine.requests[1]?.messages[1]?.content).toMatch(/User: question \d+/)
    expect(saved).toEqual([{ turns: fit?.report.dropped, text: 'the summary' }])

    const next = await router.route({ messages: longChat(41), max_tokens: 2048 }, 'local', undefined, context(saved[0] ?? null))
    await textOf(next.chunks)
    const again = engine.requests[2]
    expect(again?.messages[1]?.content).toMatch(/^Summary of the \d+ earliest turns of this conversation/)
    expect(next.fit()?.report.summarised).toBe(saved[0]?.turns)
    expect(promptTokens(again) + (again?.max_tokens ?? 0)).toBeLessThanOrEqual(1024)
  })

  it('leaves a chat that fits alone and asks for no summary', async () => {
    const engine = new FakeEngine({ kind: 'wasm', modelId: 'tiny', availability: 'ready', contextSize: 32_768 })
    const router = new ChatRouter({ nodeId: 'self', engines: { local: engine }, decide: () => Promise.reject(new Error('not asked')) })
    const answered = await router.route({ messages: longChat(3) }, 'local', undefined, { summary: null, saveSummary: () => Promise.reject(new Error('no summary expected')) })
    await textOf(answered.chunks)
    expect(engine.requests).toHaveLength(1)
    expect(answered.fit()?.report).toMatchObject({ summarised: 0, dropped: 0 })
    expect(engine.requests[0]?.max_tokens).toBeUndefined()
  })
})

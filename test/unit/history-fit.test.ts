// The history fit: system prompt and latest turn kept, think parts stripped from earlier turns,
// the oldest turns summarised or dropped, and the window never exceeded.
import { describe, expect, it } from 'vitest'
import { fitHistory, fitNote, stripEarlierThinking } from '../../src/inference/fit'
import { estimateCount, generationPromptTokens } from '../../src/inference/tokens'
import type { ChatMessage } from '../../src/inference/types'
import { ContextOverflowError } from '../../src/shared/errors'

function conversation(turns: number, words = 40): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: 'You are a helpful assistant.' }]
  for (let turn = 0; turn < turns; turn++) {
    messages.push({ role: 'user', content: `Question ${turn}: ${'tell me more '.repeat(words / 3)}` })
    messages.push({ role: 'assistant', content: `<think>\n${'pondering '.repeat(words)}\n</think>\n\nAnswer ${turn}: ${'this is it '.repeat(words / 3)}` })
  }
  messages.push({ role: 'user', content: 'And the last question?' })
  return messages
}

/** A seeded generator (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

describe('stripEarlierThinking', () => {
  it('strips closed and unclosed think parts from earlier assistant turns only', () => {
    const { messages, stripped } = stripEarlierThinking([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: '<think>long thought</think>\n\nshort answer' },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: '<think>stopped while thinking' },
      { role: 'user', content: '<think>a user may write this</think>' },
    ])
    expect(stripped).toBe(2)
    expect(messages.map((message) => message.content)).toEqual(['a', 'short answer', 'b', '', '<think>a user may write this</think>'])
  })
})

describe('fitHistory', () => {
  it('leaves a conversation that fits as it is, with the answer limit inside the window', () => {
    const messages = conversation(2)
    const fitted = fitHistory(messages, { contextSize: 4096, maxTokens: 2048, counts: estimateCount(messages).perMessage })
    expect(fitted.messages).toEqual(messages)
    expect(fitted.report).toMatchObject({ summarised: 0, dropped: 0 })
    expect(fitted.report.promptTokens + fitted.report.maxTokens).toBeLessThanOrEqual(4096)
  })

  it('drops the oldest turns, keeps the system prompt and the latest turn, and starts at a user turn', () => {
    const { messages } = stripEarlierThinking(conversation(40))
    const counts = estimateCount(messages).perMessage
    const fitted = fitHistory(messages, { contextSize: 1024, maxTokens: 2048, counts })
    expect(fitted.messages[0]).toEqual(messages[0])
    expect(fitted.messages.at(-1)).toEqual(messages.at(-1))
    expect(fitted.messages[1]?.role).toBe('user')
    expect(fitted.report.dropped).toBeGreaterThan(60)
    expect(fitted.report.dropped % 2).toBe(0)
    expect(fitted.messages.length).toBe(messages.length - fitted.report.dropped)
    // The kept turns are the newest ones, in order.
    expect(fitted.messages.slice(1)).toEqual(messages.slice(1 + fitted.report.dropped))
    expect(fitted.report.promptTokens + fitted.report.maxTokens).toBeLessThanOrEqual(1024)
    // Room for half the window at least; what the kept turns leave over goes to the answer too.
    expect(fitted.report.maxTokens).toBeGreaterThanOrEqual(512)
    expect(fitNote(fitted.report)).toBe(`${fitted.report.dropped} earlier turns dropped to fit 1024 tokens`)
  })

  it('puts a summary in place of the turns it covers when they would go anyway, and never for turns that fit', () => {
    const { messages } = stripEarlierThinking(conversation(40))
    const counts = estimateCount(messages).perMessage
    const summaryMessage: ChatMessage = { role: 'system', content: 'Summary of the earlier conversation: questions and answers.' }
    const tokens = estimateCount([summaryMessage]).perMessage[0] ?? 0
    const fitted = fitHistory(messages, { contextSize: 1024, maxTokens: 256, counts, summary: { turns: 40, message: summaryMessage, tokens } })
    expect(fitted.messages[1]).toEqual(summaryMessage)
    expect(fitted.report.summarised).toBe(40)
    expect(fitted.report.dropped).toBeGreaterThan(0)
    expect(fitNote(fitted.report)).toMatch(/^40 earlier turns summarised, \d+ dropped to fit 1024 tokens$/)
    expect(fitted.report.promptTokens + fitted.report.maxTokens).toBeLessThanOrEqual(1024)
    // A summary of more turns than must go would push out turns that fit: it is not used.
    const small = fitHistory(conversation(3), { contextSize: 4096, maxTokens: 256, counts: estimateCount(conversation(3)).perMessage, summary: { turns: 4, message: summaryMessage, tokens } })
    expect(small.report).toMatchObject({ summarised: 0, dropped: 0 })
  })

  it('refuses by name when the system prompt and the latest turn alone do not fit', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'x'.repeat(2000) },
      { role: 'user', content: 'y'.repeat(2000) },
    ]
    expect(() => fitHistory(messages, { contextSize: 1024, maxTokens: 256, counts: estimateCount(messages).perMessage })).toThrow(ContextOverflowError)
  })

  it('never exceeds the window, on random conversations and windows (seeded)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed)
      const turns = Math.floor(next() * 60)
      const messages: ChatMessage[] = next() < 0.5 ? [{ role: 'system', content: 's' }] : []
      for (let i = 0; i < turns; i++) messages.push({ role: i % 2 ? 'assistant' : 'user', content: 'w'.repeat(Math.floor(next() * 800)) })
      messages.push({ role: 'user', content: 'q'.repeat(Math.floor(next() * 200)) })
      const contextSize = 256 + Math.floor(next() * 4096)
      const maxTokens = 1 + Math.floor(next() * 4096)
      const counts = estimateCount(messages).perMessage
      const fitted = fitHistory(messages, { contextSize, maxTokens, counts })
      const sent = estimateCount(fitted.messages).perMessage.reduce((a, b) => a + b, 0) + generationPromptTokens
      expect(sent, `seed ${seed}: npx vitest run test/unit/history-fit.test.ts`).toBe(fitted.report.promptTokens)
      expect(sent + fitted.report.maxTokens, `seed ${seed}`).toBeLessThanOrEqual(contextSize)
      expect(fitted.messages.at(-1), `seed ${seed}`).toEqual(messages.at(-1))
      if (messages[0]?.role === 'system') expect(fitted.messages[0], `seed ${seed}`).toEqual(messages[0])
    }
  })
})

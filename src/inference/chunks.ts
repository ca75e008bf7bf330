import type { ChatChunk, FinishReason } from './types'

/** Builds the chunks of one completion in OpenAI's shape. */
export function chunkFactory(
  model: string,
  id = `chatcmpl-${crypto.randomUUID()}`,
): {
  content(text: string, first?: boolean): ChatChunk
  finish(reason: FinishReason, usage?: ChatChunk['usage']): ChatChunk
} {
  const created = Math.floor(Date.now() / 1000)
  const base = { id, object: 'chat.completion.chunk' as const, created, model }
  return {
    content: (text, first = false) => ({ ...base, choices: [{ index: 0, delta: first ? { role: 'assistant', content: text } : { content: text }, finish_reason: null }] }),
    finish: (reason, usage) => ({ ...base, choices: [{ index: 0, delta: {}, finish_reason: reason }], ...(usage ? { usage } : {}) }),
  }
}

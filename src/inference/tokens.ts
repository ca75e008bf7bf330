import type { Engine } from './engine'
import type { ChatMessage, TokenCount } from './types'

/** What Qwen3's template adds after the messages (`<|im_start|>assistant\n`, an empty think block), with room to spare. */
export const generationPromptTokens = 12

/**
 * One message as Qwen3's ChatML template writes it: an earlier assistant turn without its
 * `<think>` part, a tool call in `<tool_call>` tags, a tool's answer inside a user turn.
 */
export function messageFrameText(message: ChatMessage): string {
  if (message.role === 'tool') return `<|im_start|>user\n<tool_response>\n${message.content}\n</tool_response><|im_end|>\n`
  if (message.role !== 'assistant') return `<|im_start|>${message.role}\n${message.content}<|im_end|>\n`
  const calls = (message.tool_calls ?? []).map((call) => `\n<tool_call>\n{"name": "${call.function.name}", "arguments": ${call.function.arguments}}\n</tool_call>`).join('')
  return `<|im_start|>assistant\n${message.content}${calls}<|im_end|>\n`
}

const encoder = new TextEncoder()
/**
 * Without the model's tokenizer: two UTF-8 bytes a token, above what BPE vocabularies give on
 * English (about four), code (three) or CJK (three bytes a character, one or two characters a
 * token), so a fit on the estimate never overflows the window.
 */
const estimatedBytesPerToken = 2

export function estimateTokens(text: string): number {
  return Math.ceil(encoder.encode(text).length / estimatedBytesPerToken)
}

export function estimateCount(messages: readonly ChatMessage[]): TokenCount {
  return { perMessage: messages.map((message) => estimateTokens(messageFrameText(message))), exact: false }
}

/** The engine's own count when it has a tokenizer, else the conservative estimate (and says so). */
export async function countTokens(engine: Pick<Engine, 'countTokens'>, messages: readonly ChatMessage[], signal?: AbortSignal): Promise<TokenCount> {
  if (!engine.countTokens) return estimateCount(messages)
  try {
    return await engine.countTokens(messages, signal)
  } catch (error) {
    if (signal?.aborted) throw error
    return estimateCount(messages)
  }
}

import { ContextOverflowError } from '../shared/errors'
import { generationPromptTokens } from './tokens'
import type { ChatMessage } from './types'

/**
 * Fits a conversation to a model's context window: earlier assistant turns lose their
 * `<think>` part, then the oldest turns give way, to a summary of them when there is one that
 * covers them, else dropped. The leading system messages and the latest message are always
 * kept, and room is left for the answer. Pure: the counts come from the engine's tokenizer.
 */

/** A summary of the conversation's first `turns` turns (messages after the leading system ones). */
export interface HistorySummary {
  turns: number
  text: string
}

export interface FitOptions {
  /** The engine's window; 0 (unknown) fits nothing. */
  contextSize: number
  /** The answer's token limit asked for; the fit leaves room for it, at most half the window. */
  maxTokens: number
  /** Tokens of each message of `messages` (as given: think parts already stripped). */
  counts: readonly number[]
  /** A stored summary with its message and that message's tokens. */
  summary?: { turns: number; message: ChatMessage; tokens: number } | null
}

export interface FitReport {
  contextSize: number
  /** Turns replaced by the summary. */
  summarised: number
  /** Turns left out with no summary standing in for them. */
  dropped: number
  /** Prompt tokens sent, and what the whole history would have taken. */
  promptTokens: number
  fullTokens: number
  /** The answer's limit after the fit (never past the window). */
  maxTokens: number
}

export interface Fitted {
  messages: ChatMessage[]
  report: FitReport
}

const thinkPart = /^\s*<think>[\s\S]*?(<\/think>\s*|$)/

/** Earlier assistant turns without their `<think>` part (the latest message is left as is); how many had one. */
export function stripEarlierThinking(messages: readonly ChatMessage[]): { messages: ChatMessage[]; stripped: number } {
  let stripped = 0
  const out = messages.map((message, index): ChatMessage => {
    if (message.role !== 'assistant' || index === messages.length - 1 || !thinkPart.test(message.content)) return message
    stripped++
    return { ...message, content: message.content.replace(thinkPart, '') }
  })
  return { messages: out, stripped }
}

function sum(counts: readonly number[], from = 0, to = counts.length): number {
  let total = 0
  for (let i = from; i < to; i++) total += counts[i] ?? 0
  return total
}

/** The first turn at or after `from` where a kept history may start: a user's message (a tool answer needs its call). */
function turnStart(history: readonly ChatMessage[], from: number): number {
  let index = from
  while (index < history.length && history[index]?.role !== 'user') index++
  return index
}

/** The smallest turn start at or after `from` whose suffix fits in `room`; `history.length` when none does. */
function firstFitting(history: readonly ChatMessage[], counts: readonly number[], from: number, room: number): number {
  let start = turnStart(history, from)
  while (start < history.length && sum(counts, start) > room) start = turnStart(history, start + 1)
  return start
}

/** `messages` fitted to the window; ContextOverflowError when the system prompt and the latest message alone do not fit. */
export function fitHistory(messages: readonly ChatMessage[], options: FitOptions): Fitted {
  const { contextSize, counts } = options
  const fullTokens = sum(counts) + generationPromptTokens
  const unfitted = { messages: [...messages], report: { contextSize, summarised: 0, dropped: 0, promptTokens: fullTokens, fullTokens, maxTokens: options.maxTokens } }
  if (contextSize <= 0 || messages.length === 0) return unfitted
  const answerRoom = Math.max(1, Math.min(options.maxTokens, Math.floor(contextSize / 2)))
  const budget = contextSize - answerRoom - generationPromptTokens
  let lead = 0
  while (lead < messages.length - 1 && messages[lead]?.role === 'system') lead++
  const last = messages.length - 1
  const history = messages.slice(lead, last)
  const historyCounts = counts.slice(lead, last)
  const fixed = sum(counts, 0, lead) + (counts[last] ?? 0)
  const answerLimit = (promptTokens: number): number => Math.max(answerRoom, Math.min(options.maxTokens, contextSize - promptTokens))
  if (fixed + sum(historyCounts) <= budget) return { ...unfitted, report: { ...unfitted.report, maxTokens: answerLimit(fullTokens) } }
  if (fixed > budget)
    throw new ContextOverflowError(`the system prompt and the latest message take ${fixed} tokens: a ${contextSize}-token window holds ${budget} with room for a ${answerRoom}-token answer`)

  const start = firstFitting(history, historyCounts, 0, budget - fixed)
  const summary = options.summary
  // A summary stands in only for turns that would go anyway: it never pushes out turns that fit.
  if (summary && summary.turns > 0 && summary.turns <= start && fixed + summary.tokens <= budget) {
    const kept = firstFitting(history, historyCounts, Math.max(start, summary.turns), budget - fixed - summary.tokens)
    const promptTokens = fixed + summary.tokens + sum(historyCounts, kept) + generationPromptTokens
    return {
      messages: [...messages.slice(0, lead), summary.message, ...history.slice(kept), ...messages.slice(last)],
      report: { contextSize, summarised: summary.turns, dropped: kept - summary.turns, promptTokens, fullTokens, maxTokens: answerLimit(promptTokens) },
    }
  }
  const promptTokens = fixed + sum(historyCounts, start) + generationPromptTokens
  return {
    messages: [...messages.slice(0, lead), ...history.slice(start), ...messages.slice(last)],
    report: { contextSize, summarised: 0, dropped: start, promptTokens, fullTokens, maxTokens: answerLimit(promptTokens) },
  }
}

/** What the user reads of a fit: "12 earlier turns summarised, 3 dropped to fit 4096 tokens"; '' when nothing was left out. */
export function fitNote(report: FitReport): string {
  if (report.summarised === 0 && report.dropped === 0) return ''
  const parts = [report.summarised ? `${report.summarised} earlier turns summarised` : '', report.dropped ? `${report.dropped}${report.summarised ? '' : ' earlier turns'} dropped` : ''].filter(
    Boolean,
  )
  return `${parts.join(', ')} to fit ${report.contextSize} tokens`
}

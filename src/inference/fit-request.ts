import type { Engine } from './engine'
import { fitHistory, stripEarlierThinking, type FitReport, type HistorySummary } from './fit'
import { countTokens, estimateTokens } from './tokens'
import type { ChatMessage, ChatRequest } from './types'

export interface FittedRequest {
  request: ChatRequest
  report: FitReport
  /** Earlier assistant turns whose `<think>` part was left out. */
  thinkStripped: number
  /** Whether the engine's own tokenizer counted (else a conservative estimate did). */
  exact: boolean
}

/** The summary as the model reads it: data about the conversation, in a system message after the system prompt. */
export function summaryMessage(summary: HistorySummary): ChatMessage {
  return { role: 'system', content: `Summary of the ${summary.turns} earliest turns of this conversation (they are left out):\n${summary.text}` }
}

/**
 * `request` fitted to `engine`'s window, counted with its tokenizer: think parts of earlier
 * turns stripped, the oldest turns replaced by `summary` where it covers them, or dropped.
 * The answer's limit stays inside the window. An engine whose window is unknown (0) gets the request as it is.
 */
export async function fitToEngine(engine: Pick<Engine, 'info' | 'countTokens'>, request: ChatRequest, summary: HistorySummary | null, signal?: AbortSignal): Promise<FittedRequest> {
  const contextSize = engine.info().contextSize
  const { messages, stripped } = stripEarlierThinking(request.messages)
  const extra = summary ? summaryMessage(summary) : null
  const counted = await countTokens(engine, extra ? [...messages, extra] : messages, signal)
  // The tool signatures go into the system prompt by the engine's template: kept out of the window.
  const toolTokens = request.tools ? estimateTokens(JSON.stringify(request.tools)) : 0
  const fitted = fitHistory(messages, {
    contextSize: contextSize > 0 ? Math.max(1, contextSize - toolTokens) : 0,
    maxTokens: request.max_tokens ?? contextSize,
    counts: counted.perMessage.slice(0, messages.length),
    summary: extra && summary ? { turns: summary.turns, message: extra, tokens: counted.perMessage[messages.length] ?? 0 } : null,
  })
  const report = { ...fitted.report, contextSize }
  // A limit asked for is kept inside the window; none asked for stays none (the engine stops at the window's end).
  const fittedRequest: ChatRequest = {
    ...request,
    messages: fitted.messages,
    ...(request.max_tokens !== undefined && contextSize > 0 ? { max_tokens: Math.min(report.maxTokens, request.max_tokens) } : {}),
  }
  return { request: fittedRequest, report, thinkStripped: stripped, exact: counted.exact }
}

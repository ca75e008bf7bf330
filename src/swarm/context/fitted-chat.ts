import type { FitReport, HistorySummary } from '../../inference/fit'
import { fitToEngine } from '../../inference/fit-request'
import type { ChatChunk, ChatRequest } from '../../inference/types'
import type { Answerer, RouteEngine } from '../routing/route-engine'
import { summariseTurns } from './summarise'

/** The conversation a chat belongs to: its stored summary, and where a new one is kept. */
export interface ConversationContext {
  summary: HistorySummary | null
  saveSummary(summary: HistorySummary): Promise<void>
  /** A summary that could not be written (the turns stay dropped; the next answer tries again). */
  onError?: (error: unknown) => void
}

/** What the fit did to a chat, for the user: see `fitNote`. */
export interface ChatFit {
  report: FitReport
  thinkStripped: number
  exact: boolean
}

/**
 * A chat fitted to `engine`'s window, then streamed from it. When the fit left turns out that
 * no summary covers, the model then writes a new summary of them (before the stream ends, so
 * the next question finds it), kept with the conversation through `context`.
 */
export async function* fittedChat(
  engine: RouteEngine,
  request: ChatRequest,
  context: ConversationContext | undefined,
  onFit: (fit: ChatFit) => void,
  signal?: AbortSignal,
  onAnswerer?: (answerer: Answerer) => void,
): AsyncGenerator<ChatChunk> {
  const summary = context?.summary ?? null
  const fitted = await fitToEngine(engine, request, summary, signal)
  onFit({ report: fitted.report, thinkStripped: fitted.thinkStripped, exact: fitted.exact })
  yield* engine.chat(fitted.request, signal, onAnswerer)
  const { summarised, dropped } = fitted.report
  if (!context || dropped === 0 || signal?.aborted) return
  let lead = 0
  while (lead < request.messages.length - 1 && request.messages[lead]?.role === 'system') lead++
  const history = request.messages.slice(lead, -1)
  try {
    await context.saveSummary(await summariseTurns(engine, history, summarised + dropped, summary, signal))
  } catch (error) {
    if (!signal?.aborted) context.onError?.(error)
  }
}

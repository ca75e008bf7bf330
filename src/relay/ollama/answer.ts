// Writes an Ollama answer from a backend's steps: newline-delimited JSON when streaming (one
// object a piece, the last with `done: true`, its reason, counts and durations in ns), else
// one object. An error before the first piece throws (the route answers it with its status);
// one mid-stream is a last `{ "error": "…" }` line. What was served is charged either way.
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { toApiError } from '../v1/errors'
import { sendV1Json } from '../v1/http'
import { chargedFor, createMeter } from '../v1/respond'
import type { Exchange } from '../v1/route'
import type { Step } from './steps'
import type { OllamaDoneReason, OllamaPiece, OllamaTimings } from './wire'

export interface Ending {
  reason: OllamaDoneReason
  timings: OllamaTimings
}

/** The object one line (or the whole answer) is: `ending` is null for a piece mid-stream. */
export type Render = (piece: OllamaPiece, ending: Ending | null) => Record<string, unknown>

export interface AnswerOptions {
  stream: boolean
  steps: AsyncIterable<Step>
  render: Render
  /** Characters of the prompt, for an estimate where the backend counts no tokens. */
  promptChars: number
  /** When the request began (process.hrtime.bigint()), for total_duration. */
  startedNs: bigint
}

export const createdAt = (): string => new Date().toISOString()

async function write(res: ServerResponse, line: Record<string, unknown>): Promise<void> {
  if (res.destroyed || res.writableEnded) return
  if (!res.write(`${JSON.stringify(line)}\n`)) await Promise.race([once(res, 'drain'), once(res, 'close')])
}

function join(into: OllamaPiece, piece: OllamaPiece): void {
  into.content += piece.content
  into.thinking += piece.thinking
  into.toolCalls.push(...piece.toolCalls)
}

const emptyPiece = (): OllamaPiece => ({ content: '', thinking: '', toolCalls: [] })
const charsOf = (piece: OllamaPiece): number =>
  piece.content.length + piece.thinking.length + piece.toolCalls.reduce((sum, call) => sum + call.function.name.length + JSON.stringify(call.function.arguments).length, 0)

/** An answer that needs no backend: Ollama's load request (an empty prompt or no messages). */
export function answerLoaded(exchange: Exchange, render: Render): void {
  const timings: OllamaTimings = { total_duration: 0, load_duration: 0, prompt_eval_count: 0, prompt_eval_duration: 0, eval_count: 0, eval_duration: 0 }
  sendV1Json(exchange.req, exchange.res, 200, render(emptyPiece(), { reason: 'load', timings }), exchange.headers)
}

export async function answer(exchange: Exchange, options: AnswerOptions): Promise<void> {
  const { req, res, headers } = exchange
  // Counted as /v1 counts a stream, so a broken or abandoned answer is charged what was served.
  const served = createMeter()
  const iterator = options.steps[Symbol.asyncIterator]()
  try {
    const first = await iterator.next()
    const firstNs = process.hrtime.bigint()
    const ending = (reason: 'stop' | 'length'): Ending => {
      const endNs = process.hrtime.bigint()
      const usage = chargedFor(options.promptChars, served)
      return {
        reason,
        timings: {
          total_duration: Number(endNs - options.startedNs),
          // The relay's model is loaded before a request reaches it.
          load_duration: 0,
          prompt_eval_count: usage.prompt_tokens,
          prompt_eval_duration: Number(firstNs - options.startedNs),
          eval_count: usage.completion_tokens,
          eval_duration: Number(endNs - firstNs),
        },
      }
    }
    const whole = emptyPiece()
    if (options.stream) {
      res.writeHead(200, { ...headers, 'Content-Type': 'application/x-ndjson', 'X-Accel-Buffering': 'no' })
      res.flushHeaders()
      exchange.firstChunk(Number(firstNs - options.startedNs) / 1e6)
    }
    try {
      for (let step = first; step.done !== true; step = await iterator.next()) {
        const value = step.value
        if (value.kind === 'end') {
          served.reported = value.usage
          const last = ending(value.reason)
          if (!options.stream) {
            sendV1Json(req, res, 200, options.render(whole, last), headers)
            return
          }
          await write(res, options.render(emptyPiece(), last))
          res.end()
          return
        }
        served.chunks += 1
        const chars = charsOf(value.piece)
        served.completionChars += chars
        if (chars > 0) served.textChunks += 1
        if (options.stream) await write(res, options.render(value.piece, null))
        else join(whole, value.piece)
      }
    } catch (error) {
      if (!options.stream || res.destroyed) throw error
      await write(res, { error: toApiError(error).message })
      res.end()
      throw error
    }
  } finally {
    exchange.charge(chargedFor(options.promptChars, served))
  }
}

// Turns a backend's text completion chunks into the HTTP answer of POST /v1/completions: SSE
// `text_completion` chunks when streaming, else one `text_completion`. With `echo` the prompt
// leads the text, as OpenAI sends it.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { roughUsage, type FinishReason, type TextCompletion, type TextCompletionChunk, type Usage } from '../../shared/openai'
import type { CompletionBackendRequest } from './backend'
import { sendV1Json } from './http'
import { finishReasonOf, streamEvents, type Answered, type Meter } from './respond'

export interface CompletionAnswer {
  request: CompletionBackendRequest
  stream: boolean
  includeUsage: boolean
  /** Text sent before the model's (`echo`: the prompt). */
  lead: string
}

/** The characters of a completion's prompt, for a rough count. */
export const completionPromptChars = (request: CompletionBackendRequest): number => request.prompt.length + (request.suffix?.length ?? 0)

/**
 * Answers from `chunks`, metering them into `meter`. Errors before the first chunk throw (the
 * caller sends them with their status); an error mid-stream goes out as an SSE `error` event.
 */
export async function respondCompletion(
  req: IncomingMessage,
  res: ServerResponse,
  answer: CompletionAnswer,
  chunks: AsyncIterable<TextCompletionChunk>,
  headers: OutgoingHttpHeaders,
  meter: Meter,
): Promise<Answered> {
  const startedMs = Date.now()
  const { request } = answer
  const iterator = chunks[Symbol.asyncIterator]()
  const first = await iterator.next()
  let id = `cmpl-${crypto.randomUUID()}`
  let created = Math.floor(Date.now() / 1000)
  let text = answer.lead
  let lead = answer.lead
  let finishReason: FinishReason = 'stop'
  const usage = (): Usage => meter.reported ?? roughUsage(completionPromptChars(request), meter.completionChars)
  /** Meters `chunk`; whether it has choices (the usage chunk has none). */
  const take = (chunk: TextCompletionChunk): boolean => {
    id = chunk.id
    created = chunk.created
    meter.chunks += 1
    if (chunk.usage) meter.reported = chunk.usage
    for (const choice of chunk.choices) {
      meter.completionChars += choice.text.length
      if (choice.text !== '') meter.textChunks += 1
      if (!answer.stream) text += choice.text
      if (choice.finish_reason != null) finishReason = finishReasonOf(choice.finish_reason)
    }
    return chunk.choices.length > 0
  }

  if (!answer.stream) {
    for (let step = first; step.done !== true; step = await iterator.next()) take(step.value)
    const completion: TextCompletion = { id, object: 'text_completion', created, model: request.model, choices: [{ index: 0, text, finish_reason: finishReason, logprobs: null }], usage: usage() }
    sendV1Json(req, res, 200, completion, headers)
    return { usage: completion.usage, firstChunkMs: null }
  }

  return streamEvents(res, headers, first, iterator, {
    startedMs,
    event: (chunk) => {
      if (!take(chunk)) return null
      const sent = lead === '' ? chunk : { ...chunk, choices: chunk.choices.map((choice) => ({ ...choice, text: `${lead}${choice.text}` })) }
      lead = ''
      return { ...sent, usage: null }
    },
    usage,
    usageEvent: (spent) => (answer.includeUsage ? { id, object: 'text_completion', created, model: request.model, choices: [], usage: spent } : null),
  })
}

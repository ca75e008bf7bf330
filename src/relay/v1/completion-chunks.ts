// A chat answer as a text completion's chunks, for a backend whose engines take chat requests
// only (the swarm's browser nodes): the prompt goes as the user's turn, so the text the model
// continues is chat-templated.
import type { ChatCompletionChunk, TextCompletionChunk } from '../../shared/openai'
import type { BackendRequest, CompletionBackendRequest } from './backend'
import { badRequest } from './errors'

/** `request` as a chat request whose one user turn is the prompt; `suffix` is a 400 naming it. */
export function chatOfCompletion(request: CompletionBackendRequest, backendName: string): BackendRequest {
  if (request.suffix !== undefined) {
    throw badRequest(`suffix: the ${backendName} backend cannot fill in the middle (its nodes run chat requests); leave suffix out`, 'suffix', 'infill_unsupported')
  }
  return {
    model: request.model,
    messages: [{ role: 'user', content: request.prompt }],
    max_tokens: request.max_tokens,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.top_p === undefined ? {} : { top_p: request.top_p }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(request.stop.length === 0 ? {} : { stop: request.stop }),
    ...request.sampling,
  }
}

/** The chat chunks as `text_completion` chunks: text, the finish reason, usage (a role-only chunk has no text to send). */
export async function* textChunksOfChat(chunks: AsyncIterable<ChatCompletionChunk>): AsyncGenerator<TextCompletionChunk> {
  for await (const chunk of chunks) {
    const base = { id: chunk.id.replace(/^chatcmpl-/, 'cmpl-'), object: 'text_completion' as const, created: chunk.created, model: chunk.model }
    if (chunk.choices.length === 0) {
      yield { ...base, choices: [], usage: chunk.usage ?? null }
      continue
    }
    const choices = chunk.choices
      .filter((choice) => (choice.delta.content ?? '') !== '' || choice.finish_reason !== null)
      .map((choice) => ({ index: choice.index, text: choice.delta.content ?? '', finish_reason: choice.finish_reason, logprobs: null }))
    if (choices.length > 0) yield { ...base, choices }
  }
}

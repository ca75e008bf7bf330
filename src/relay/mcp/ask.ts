// The `ask` tool: one question to a model of the relay (its own, an upstream's, or `swarm/<room>`)
// through the backend /v1 would pick, with /v1's caps and the caller's day budget charged.
import { AbortError } from '../../shared/errors'
import type { BackendRequest } from '../v1/backend'
import { noBackendConfigured } from '../v1/errors'
import { parseChatRequest, promptTokenBound } from '../v1/request'
import { chargedUsage, createMeter } from '../v1/respond'
import type { McpDeps } from './deps'

export interface AskArgs {
  question: string
  model?: string | undefined
  system?: string | undefined
  max_tokens?: number | undefined
  temperature?: number | undefined
}

export interface Answer {
  model: string
  text: string
  finishReason: string | null
  usage: { prompt_tokens: number; completion_tokens: number }
}

/** The model `ask` uses when none is named: the first one the first backend lists. */
async function defaultModel(deps: McpDeps, signal: AbortSignal): Promise<string> {
  const first = deps.backends[0]
  if (first === undefined) throw noBackendConfigured()
  const listed = await first.models(signal)
  return listed[0]?.id ?? (first.name === 'swarm' ? 'swarm' : '')
}

/** Asks `args.question`; throws the ApiError /v1 would answer (400 for a cap, 429 past the budget, 503 …). */
export async function ask(deps: McpDeps, caller: string, args: AskArgs, signal: AbortSignal): Promise<Answer> {
  const model = args.model ?? (await defaultModel(deps, signal))
  const messages = [...(args.system === undefined ? [] : [{ role: 'system', content: args.system }]), { role: 'user', content: args.question }]
  // Through /v1's own parser: the same schema, caps and defaults as a chat completion.
  const body = JSON.stringify({ model, messages, max_tokens: args.max_tokens, temperature: args.temperature })
  const request: BackendRequest = parseChatRequest(body, deps.caps)
  const backend = deps.pick(request.model)
  const reservation = deps.access.reserve(caller, promptTokenBound(body, request) + request.max_tokens)
  const meter = createMeter()
  let text = ''
  let finishReason: string | null = null
  try {
    for await (const chunk of backend.chat(request, signal)) {
      meter.chunks++
      if (chunk.usage) meter.reported = chunk.usage
      for (const choice of chunk.choices) {
        const piece = choice.delta.content ?? ''
        if (piece !== '') {
          meter.textChunks++
          meter.completionChars += piece.length
          text += piece
        }
        if (choice.finish_reason !== null) finishReason = choice.finish_reason
      }
    }
  } finally {
    // Whatever ended it (the answer, the caller leaving, the backend failing): what was served.
    const spent = chargedUsage(request, meter)
    reservation.settle(spent.prompt_tokens + spent.completion_tokens)
  }
  // A backend stopped by the signal may end its stream as if done (the embedded one keeps what it
  // wrote): a caller that went away got no answer, whatever the stream did.
  if (signal.aborted) throw new AbortError('the MCP client went away')
  const usage = chargedUsage(request, meter)
  return { model: request.model, text, finishReason, usage: { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens } }
}

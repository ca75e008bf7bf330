// Ollama's model names on the relay's backends: clients add the tag `:latest` to a name that
// has none (as `ollama` itself lists them), and ask for a context with `num_ctx`.
import type { Backend } from '../v1/backend'
import { badRequest } from '../v1/errors'

const latest = ':latest'

/** The name a backend serves for `name`: itself, or without a `:latest` a client added. */
export function servedName(all: readonly Backend[], name: string): string {
  if (all.some((backend) => backend.serves(name)) || !name.endsWith(latest)) return name
  const bare = name.slice(0, -latest.length)
  return all.some((backend) => backend.serves(bare)) ? bare : name
}

/** `num_ctx` is honoured where the model's context holds that many tokens (the relay never shrinks it); else 400. */
export async function checkContext(backend: Backend, model: string, contextTokens: number | undefined, signal: AbortSignal): Promise<void> {
  if (contextTokens === undefined) return
  const known = (await backend.models(signal)).find((info) => info.id === model)?.max_model_len
  if (known !== undefined && contextTokens > known) {
    throw badRequest(`options.num_ctx is ${contextTokens}, but ${model} holds ${known} tokens a request on this relay`, 'options.num_ctx', 'context_too_large')
  }
}

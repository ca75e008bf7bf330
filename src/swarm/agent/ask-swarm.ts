import { splitThinking } from '../../inference/think'
import type { ChatRequest } from '../../inference/types'
import type { TaskHandle } from '../../market'
import { throwIfAborted } from '../../shared/errors'

/** Tokens a peer may spend on one of the agent's questions. */
const swarmAnswerTokens = 512

/** The agent's ask_swarm: `prompt` as a subtask on the room's market; the answer's text, without its thinking. A stop cancels the task. */
export function askSwarmOn(market: { submit(request: ChatRequest): TaskHandle }): (prompt: string, signal: AbortSignal) => Promise<string> {
  return async (prompt, signal) => {
    throwIfAborted(signal)
    const handle = market.submit({ messages: [{ role: 'user', content: prompt }], max_tokens: swarmAnswerTokens, enable_thinking: false })
    const cancel = (): void => handle.cancel()
    signal.addEventListener('abort', cancel, { once: true })
    try {
      return splitThinking((await handle.result).text).answer.trim()
    } finally {
      signal.removeEventListener('abort', cancel)
    }
  }
}

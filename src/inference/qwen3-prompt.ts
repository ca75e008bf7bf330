// A request with tools as plain messages, the way Qwen3's chat template writes them, for engines
// whose Qwen3 has no function calling (WebLLM): the tools offered in the system turn, earlier
// calls as `<tool_call>` text in the assistant turn, tool answers as `<tool_response>` in a user turn.
import { toolCallText, toolResponseText, toolsSystemText } from '../shared/tool-calls'
import type { ChatMessage, ChatRequest } from './types'

/** A system, user or assistant message with no structured calls. */
export interface TextMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

export function qwen3TextMessages(request: ChatRequest): TextMessage[] {
  const out: TextMessage[] = []
  const tools = request.tools ?? []
  const [head, ...rest] = request.messages
  const system = head?.role === 'system' ? head.content : undefined
  if (tools.length > 0) out.push({ role: 'system', content: `${system === undefined ? '' : `${system}\n\n`}${toolsSystemText(tools.map((tool) => tool.function))}` })
  else if (system !== undefined) out.push({ role: 'system', content: system })
  let previous: ChatMessage['role'] | undefined
  for (const message of system === undefined ? request.messages : rest) {
    const last = out.at(-1)
    if (message.role === 'tool' && previous === 'tool' && last) {
      // Consecutive tool answers share one user turn, as the template writes them.
      out[out.length - 1] = { role: 'user', content: `${last.content}\n${toolResponseText(message.content)}` }
    } else if (message.role === 'tool') {
      out.push({ role: 'user', content: toolResponseText(message.content) })
    } else if (message.role === 'assistant') {
      const calls = (message.tool_calls ?? []).map((call) => toolCallText(call.function.name, call.function.arguments))
      out.push({ role: 'assistant', content: [message.content, ...calls].filter((part) => part !== '').join('\n') })
    } else {
      out.push({ role: message.role, content: message.content })
    }
    previous = message.role
  }
  return out
}

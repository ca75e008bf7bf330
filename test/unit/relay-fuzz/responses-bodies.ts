// Random /v1/responses bodies for the /v1 fuzzer: input as a string or items (messages with text
// parts, function_call and function_call_output items, reasoning items, items of no known kind),
// flat function tools with random schemas, tool_choice, text.format, reasoning, the thinking
// fields, fields a stateless relay refuses, unknown fields, and now and then any field replaced
// by random JSON.
import { randomSchema } from './chat-bodies'
import type { Random } from './random'

const names = ['get_weather', 'lookup', 'a.b-c', '', 'x'.repeat(70), 'bad name']

function inputItem(random: Random): unknown {
  switch (random.int(6)) {
    case 0:
      return {
        role: random.pick(['user', 'assistant', 'system', 'developer', 'tool']),
        content: random.chance(0.5) ? random.text(20) : [{ type: random.pick(['input_text', 'output_text', 'input_image']), text: random.text(10) }],
      }
    case 1:
      return { type: 'function_call', call_id: random.pick(['call_1', '', random.text(8)]), name: random.pick(names), arguments: random.pick(['{}', '{"city":"Oslo"}', random.text(10)]) }
    case 2:
      return { type: 'function_call_output', call_id: random.pick(['call_1', random.text(8)]), output: random.chance(0.8) ? random.text(20) : random.json(2) }
    case 3:
      return { type: 'reasoning', id: 'rs_1', summary: [], content: [{ type: 'reasoning_text', text: random.text(10) }] }
    case 4:
      return { type: random.pick(['message', 'web_search_call', random.text(5)]), role: 'user', content: random.text(5) }
    default:
      return random.json(2)
  }
}

export function randomResponsesBody(random: Random, model: string, maxTokens: number): Record<string, unknown> {
  const tools = Array.from({ length: random.int(3) }, () => ({
    type: random.chance(0.9) ? 'function' : random.pick(['web_search', 'file_search', 'mcp']),
    name: random.pick(names),
    ...(random.chance(0.8) ? { parameters: randomSchema(random) } : {}),
    ...(random.chance(0.3) ? { strict: random.chance(0.5) } : {}),
  }))
  const body: Record<string, unknown> = {
    model: random.chance(0.95) ? model : random.pick(['', 'not-a-model', random.text(8)]),
    input: random.chance(0.4) ? random.text(random.int(40)) : Array.from({ length: random.int(5) }, () => inputItem(random)),
    max_output_tokens: random.chance(0.9) ? 1 + random.int(maxTokens) : random.pick([0, maxTokens + 1, -1, 1.5]),
    stream: random.chance(0.5),
  }
  if (random.chance(0.3)) body.instructions = random.text(30)
  if (tools.length > 0) body.tools = tools
  if (random.chance(0.4)) body.tool_choice = random.pick(['auto', 'none', 'required', { type: 'function', name: random.pick(names) }, { type: 'web_search' }])
  if (random.chance(0.3))
    body.text = { format: random.pick([{ type: 'text' }, { type: 'json_object' }, { type: 'json_schema', name: 'answer', schema: randomSchema(random) }, { type: 'json_schema' }]) }
  if (random.chance(0.3))
    body.reasoning = { effort: random.pick(['none', 'minimal', 'low', 'medium', 'high', 'max']), ...(random.chance(0.5) ? { summary: random.pick(['auto', 'detailed', 'never']) } : {}) }
  if (random.chance(0.2)) body.temperature = random.pick([0, 0.7, 2, 3, -1])
  if (random.chance(0.2)) body.top_p = random.pick([0.5, 1, 2])
  if (random.chance(0.2)) body.parallel_tool_calls = random.chance(0.5)
  if (random.chance(0.1)) body[random.pick(['previous_response_id', 'conversation', 'background', 'prompt'])] = random.pick(['resp_1', true, { id: 'c' }])
  if (random.chance(0.1)) body[random.pick(['frobnicate', 'seed', 'messages', random.text(6)])] = random.json(1)
  if (random.chance(0.1)) body.store = random.chance(0.5)
  if (random.chance(0.1)) {
    const field = random.pick(Object.keys(body))
    body[field] = random.json(2)
  }
  return body
}

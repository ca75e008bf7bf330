// How the WebGPU engine sends tools and schemas to WebLLM, whose Qwen3 has no function calling:
// Qwen3's own text format in, xgrammar (`json_object` with a schema string) for forced output.
import { describe, expect, it } from 'vitest'
import { toWebLlmRequest } from '../../src/inference/webgpu/chat-stream'
import type { ChatRequest, Tool } from '../../src/inference/types'
import { forcedCallSchema, toolsSystemText } from '../../src/shared/tool-calls'

const search: Tool = { type: 'function', function: { name: 'search', description: 'Search the memory', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } } }

const loop: ChatRequest = {
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Find x.' },
    {
      role: 'assistant',
      content: '',
      tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } },
        { id: 'c2', type: 'function', function: { name: 'search', arguments: '{"q":"y"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'c1', content: 'x is 1' },
    { role: 'tool', tool_call_id: 'c2', content: 'y is 2' },
  ],
  tools: [search],
}

describe('WebLLM requests with tools', () => {
  it('never passes tools: they are offered in the system turn, calls and answers are Qwen3 text', () => {
    const out = toWebLlmRequest(loop)
    expect(out.tools).toBeUndefined()
    expect(out.messages).toEqual([
      { role: 'system', content: `Be brief.\n\n${toolsSystemText([search.function])}` },
      { role: 'user', content: 'Find x.' },
      { role: 'assistant', content: '<tool_call>\n{"name":"search","arguments":{"q":"x"}}\n</tool_call>\n<tool_call>\n{"name":"search","arguments":{"q":"y"}}\n</tool_call>' },
      { role: 'user', content: '<tool_response>\nx is 1\n</tool_response>\n<tool_response>\ny is 2\n</tool_response>' },
    ])
    expect(out.response_format).toBeUndefined()
  })

  it('forces a call with the call schema under json_object, the only form WebLLM takes a schema in', () => {
    const out = toWebLlmRequest({ ...loop, tool_choice: { type: 'function', function: { name: 'search' } } })
    expect(out.response_format).toEqual({ type: 'json_object', schema: JSON.stringify(forcedCallSchema([search.function], 'search')) })
    expect(() => toWebLlmRequest({ ...loop, tool_choice: { type: 'function', function: { name: 'nope' } } })).toThrow(/ValidationError|not among the tools/)
  })

  it('sends a json_schema as json_object with the schema as a string', () => {
    const schema = { type: 'object', properties: { a: { type: 'boolean' } } }
    const out = toWebLlmRequest({ messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 's', schema } } })
    expect(out.response_format).toEqual({ type: 'json_object', schema: JSON.stringify(schema) })
  })
})

import { describe, expect, it } from 'vitest'
import { forcedCallSchema, parseToolCalls, toolCallText } from '../../src/shared/tool-calls'

describe("Qwen3's tool-call format", () => {
  it('splits text and calls; arguments come back as JSON text', () => {
    const text = `Let me look.\n<tool_call>\n{"name": "search", "arguments": {"query": "cats"}}\n</tool_call>\n<tool_call>\n{"name":"add","arguments":"{\\"text\\":\\"x\\"}"}\n</tool_call>`
    expect(parseToolCalls(text)).toEqual({
      content: 'Let me look.',
      calls: [
        { name: 'search', arguments: '{"query":"cats"}' },
        { name: 'add', arguments: '{"text":"x"}' },
      ],
      malformed: 0,
    })
  })

  it('counts a call that is not JSON, has no name, or is cut off as malformed', () => {
    expect(parseToolCalls('<tool_call>{oops}</tool_call>')).toMatchObject({ calls: [], malformed: 1 })
    expect(parseToolCalls('<tool_call>{"arguments":{}}</tool_call>')).toMatchObject({ calls: [], malformed: 1 })
    expect(parseToolCalls('<tool_call>{"name":"a","arguments":[1]}</tool_call>')).toMatchObject({ calls: [], malformed: 1 })
    expect(parseToolCalls('ok <tool_call>{"name":"a"')).toEqual({ content: 'ok', calls: [], malformed: 1 })
  })

  it('round-trips a call through its text', () => {
    expect(parseToolCalls(toolCallText('f', '{"a":1}')).calls).toEqual([{ name: 'f', arguments: '{"a":1}' }])
    expect(parseToolCalls(toolCallText('f', 'not json')).calls).toEqual([{ name: 'f', arguments: '{}' }])
  })

  it('forces one named tool, or any of them', () => {
    const tools = [
      { name: 'a', parameters: { type: 'object', properties: { x: { type: 'string' } } } },
      { name: 'b', parameters: { type: 'object' } },
    ]
    expect(forcedCallSchema(tools, 'b')).toMatchObject({ properties: { name: { const: 'b' } } })
    expect(forcedCallSchema(tools)).toMatchObject({ anyOf: [{ properties: { name: { const: 'a' } } }, { properties: { name: { const: 'b' } } }] })
  })
})

import { describe, expect, it } from 'vitest'
import { ToolCallScanner, forcedCallSchema, parseForcedCall, parseToolCalls, toolCallText } from '../../src/shared/tool-calls'
import { schemaProblems } from '../contracts/json-schema-check'

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

  it('streams: content before a call shows at once, a tag split across pieces is held, the call is parsed at the end', () => {
    const scanner = new ToolCallScanner()
    const text = `Let me look.${toolCallText('search', '{"q":"x"}')}`
    const shown = Array.from({ length: text.length }, (_, i) => scanner.push(text.charAt(i))).join('')
    expect(shown).toBe('Let me look.')
    expect(scanner.inCall).toBe(true)
    expect(scanner.end()).toEqual({ content: '', calls: [{ name: 'search', arguments: '{"q":"x"}' }], malformed: 0 })
  })

  it('streams: text that only looks like the start of a tag comes back as content', () => {
    const scanner = new ToolCallScanner()
    expect(scanner.push('a <tool')).toBe('a ')
    expect(scanner.push('s> b <tool_')).toBe('<tools> b ')
    expect(scanner.end()).toEqual({ content: '<tool_', calls: [], malformed: 0 })
  })

  it('reads a forced call (bare JSON under forcedCallSchema), and refuses what is not one', () => {
    expect(parseForcedCall(' {"name": "a", "arguments": {"x": "1"}}\n')).toEqual({ name: 'a', arguments: '{"x":"1"}' })
    expect(parseForcedCall('{"name": "a", "argu')).toBeNull()
  })
})

describe('the JSON schema check the contract uses', () => {
  const schema = { type: 'object', properties: { n: { type: 'integer', minimum: 0 }, s: { type: 'string', maxLength: 3 }, e: { enum: ['x', 'y'] } }, required: ['n', 's'], additionalProperties: false }

  it('passes a value that validates', () => {
    expect(schemaProblems(schema, { n: 2, s: 'abc', e: 'x' })).toEqual([])
  })

  it('names every problem: wrong types, ranges, lengths, enums, missing and extra properties', () => {
    expect(schemaProblems(schema, { n: -1.5, s: 'abcd', e: 'z', extra: 1 })).toEqual([
      '$.n: -1.5 is not of type "integer"',
      '$.s: longer than 3',
      '$.e: "z" is not one of the enum',
      '$: has no property extra in the schema',
    ])
    expect(schemaProblems(schema, { s: '' })).toEqual(['$: lacks required n'])
    expect(schemaProblems({ type: 'object', pattern: 'x' }, {})).toEqual(['$: the check does not know pattern'])
  })
})

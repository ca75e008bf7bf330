// The pure parts of /v1's tool support: a model's raw Qwen3-format output as OpenAI chunks
// (tool-output.ts), a client's JSON schema as the embedded backend's grammar takes it or a 400
// naming what it cannot enforce (grammar-schema.ts), and the checks of the tool fields.
import { describe, expect, it } from 'vitest'
import type { BackendRequest } from '../../src/relay/v1/backend'
import { decodePlan, toHistory } from '../../src/relay/v1/embedded-prompt'
import { ApiError } from '../../src/relay/v1/errors'
import { grammarSchemaOf } from '../../src/relay/v1/grammar-schema'
import { parseChatRequest } from '../../src/relay/v1/request'
import { createToolOutput } from '../../src/relay/v1/tool-output'
import { chunkBuilder, type ChatCompletionChunk } from '../../src/shared/openai'

const caps = { maxMessages: 64, maxTokens: 256 }

function run(pieces: readonly string[], finish: 'stop' | 'length' = 'stop'): { chunks: ChatCompletionChunk[]; finish: string } {
  const output = createToolOutput(chunkBuilder('m'), { first: true })
  const chunks = pieces.flatMap((piece) => output.push(piece))
  const end = output.end(finish)
  return { chunks: [...chunks, ...end.chunks], finish: end.finish }
}

const contentOf = (chunks: readonly ChatCompletionChunk[]): string => chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')
const deltasOf = (chunks: readonly ChatCompletionChunk[]) => chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? [])

function refusal(action: () => unknown): ApiError {
  try {
    action()
  } catch (error) {
    if (error instanceof ApiError) return error
    throw error
  }
  throw new Error('no ApiError was thrown')
}

describe('tool output', () => {
  it('streams text as content at once, holding back only what could begin <tool_call>', () => {
    const output = createToolOutput(chunkBuilder('m'), { first: true })
    expect(contentOf(output.push('Hello <to'))).toBe('Hello ')
    expect(contentOf(output.push('day'))).toBe('<today')
    const end = output.end('stop')
    expect(end).toMatchObject({ finish: 'stop', chunks: [] })
  })

  it('turns calls split across pieces into tool_call deltas (id and name first, then arguments) and finish tool_calls', () => {
    const { chunks, finish } = run([
      'I will look.\n<tool',
      '_call>\n{"name": "get_weather", "argu',
      'ments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
    ])
    expect(finish).toBe('tool_calls')
    expect(contentOf(chunks)).toBe('I will look.\n')
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant')
    const deltas = deltasOf(chunks)
    expect(deltas.map((delta) => delta.index)).toEqual([0, 0, 1, 1])
    expect(deltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather', arguments: '' } })
    expect(deltas[0]?.id).toMatch(/^call_[0-9a-f]{24}$/)
    expect(deltas[1]).toEqual({ index: 0, function: { arguments: '{"city":"Paris"}' } })
    expect(deltas[2]?.id).not.toBe(deltas[0]?.id)
    expect(deltas[3]).toEqual({ index: 1, function: { arguments: '{}' } })
  })

  it('gives a botched call back as the text the model wrote, with the finish it had', () => {
    const { chunks, finish } = run(['<tool_call>\n{"name": "get_weather", "arguments": {"ci'], 'length')
    expect(finish).toBe('length')
    expect(deltasOf(chunks)).toEqual([])
    expect(contentOf(chunks)).toBe('<tool_call>\n{"name": "get_weather", "arguments": {"ci')
  })
})

describe('grammar schemas', () => {
  const at = 'response_format.json_schema.schema'

  it('keeps what the grammar enforces, turns anyOf into oneOf and drops annotations', () => {
    const schema = { title: 'T', $schema: 'x', type: 'object', properties: { a: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'null' }], default: null } }, required: ['a'] }
    expect(grammarSchemaOf(schema, at)).toEqual({ type: 'object', properties: { a: { oneOf: [{ type: 'string', maxLength: 3 }, { type: 'null' }] } }, required: ['a'] })
    // JSON Schema's "any object" and "anything", which the grammar would read as "{}" only.
    expect(grammarSchemaOf({ type: 'object' }, at)).toEqual({ type: 'object', additionalProperties: true })
    expect(grammarSchemaOf({}, at)).toEqual({ type: ['string', 'number', 'boolean', 'null'] })
  })

  it('refuses, naming where, what it cannot enforce or read', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]+$' } } }, `${at}.properties.code.pattern`],
      [{ type: 'integer', minimum: 1 }, `${at}.minimum`],
      [{ type: 'string', format: 'email' }, `${at}.format`],
      [{ allOf: [{ type: 'string' }] }, `${at}.allOf`],
      [{ type: 'banana' }, `${at}.type`],
      [{ enum: 5 }, `${at}.enum`],
      [{ oneOf: [] }, `${at}.oneOf`],
      [{ type: 'string', minLength: -5 }, `${at}.minLength`],
      [{ type: 'array', items: [{ type: 'string' }] }, `${at}.items`],
      [{ $ref: 'http://example.com/schema' }, `${at}.$ref`],
    ]
    for (const [schema, param] of cases) {
      const error = refusal(() => grammarSchemaOf(schema, at))
      expect(error, JSON.stringify(schema)).toMatchObject({ status: 400, param, code: 'unsupported_schema' })
      expect(error.message.startsWith(param)).toBe(true)
    }
  })
})

describe('the tool fields of a request', () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
  const body = (extra: Record<string, unknown>): string => JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra })

  it('refuses a tool_choice that names no offered tool, and required with no tools', () => {
    expect(refusal(() => parseChatRequest(body({ tools, tool_choice: { type: 'function', function: { name: 'other' } } }), caps))).toMatchObject({ status: 400, param: 'tool_choice' })
    expect(refusal(() => parseChatRequest(body({ tool_choice: 'required' }), caps))).toMatchObject({ status: 400, param: 'tool_choice' })
  })

  it('refuses a tool message without tool_call_id and tool_calls outside assistant messages, naming the field', () => {
    expect(refusal(() => parseChatRequest(body({ messages: [{ role: 'tool', content: '{}' }] }), caps))).toMatchObject({ status: 400, param: 'messages.0.tool_call_id' })
    const call = { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }
    expect(refusal(() => parseChatRequest(body({ messages: [{ role: 'user', content: 'x', tool_calls: [call] }] }), caps))).toMatchObject({ status: 400, param: 'messages.0.tool_calls' })
  })

  it('caps tools, schemas (size and depth) and call arguments', () => {
    const many = Array.from({ length: 129 }, (_, index) => ({ type: 'function', function: { name: `t${index}` } }))
    expect(refusal(() => parseChatRequest(body({ tools: many }), caps))).toMatchObject({ status: 400, param: 'tools' })
    const big = { type: 'object', properties: Object.fromEntries(Array.from({ length: 3000 }, (_, index) => [`p${index}`, { type: 'string' }])) }
    expect(refusal(() => parseChatRequest(body({ tools: [{ type: 'function', function: { name: 'a', parameters: big } }] }), caps))).toMatchObject({ param: 'tools.0.function.parameters' })
    let deep: Record<string, unknown> = { type: 'string' }
    for (let level = 0; level < 40; level++) deep = { type: 'array', items: deep }
    expect(refusal(() => parseChatRequest(body({ response_format: { type: 'json_schema', json_schema: { name: 'd', schema: deep } } }), caps))).toMatchObject({
      param: 'response_format.json_schema.schema',
    })
    const call = { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: 'x'.repeat(300_000) } }
    expect(refusal(() => parseChatRequest(body({ messages: [{ role: 'assistant', content: null, tool_calls: [call] }] }), caps))).toMatchObject({ param: 'messages.0.tool_calls.0.function.arguments' })
    expect(refusal(() => parseChatRequest(body({ response_format: { type: 'yaml' } }), caps))).toMatchObject({ param: 'response_format.type' })
  })
})

describe('the embedded prompt', () => {
  const request = (extra: Partial<BackendRequest>): BackendRequest => ({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], ...extra })
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }]

  it("offers tools in the system turn, replays calls in the model's turn and groups tool answers in one user turn, as Qwen3's template does", () => {
    const call = { id: 'c1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }
    const history = toHistory(
      request({
        tools,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: null, tool_calls: [call, { ...call, id: 'c2' }] },
          { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
          { role: 'tool', tool_call_id: 'c2', content: 'warm' },
        ],
      }),
    )
    expect(history.map((item) => item.type)).toEqual(['system', 'user', 'model', 'user', 'model'])
    expect(history[0]).toMatchObject({ type: 'system' })
    const system = history[0]?.type === 'system' ? history[0].text : null
    expect(typeof system === 'string' && system.startsWith('Be brief.\n\n# Tools')).toBe(true)
    expect(history[2]).toEqual({
      type: 'model',
      response: [`<tool_call>\n{"name":"get_weather","arguments":{"city":"Paris"}}\n</tool_call>\n<tool_call>\n{"name":"get_weather","arguments":{"city":"Paris"}}\n</tool_call>`],
    })
    expect(history[3]).toEqual({ type: 'user', text: '<tool_response>\nsunny\n</tool_response>\n<tool_response>\nwarm\n</tool_response>' })
  })

  it('decodes a forced call under its schema, refuses a forced call with a response_format, and leaves tool_choice none as text', () => {
    expect(decodePlan(request({ tools, tool_choice: 'required' }))).toMatchObject({ kind: 'forced-call', param: 'tools' })
    expect(decodePlan(request({ tools }))).toEqual({ kind: 'calls' })
    expect(decodePlan(request({ tools, tool_choice: 'none' }))).toEqual({ kind: 'text' })
    expect(refusal(() => decodePlan(request({ tools, response_format: { type: 'json_object' } })))).toMatchObject({ status: 400, param: 'response_format', code: 'unsupported_combination' })
  })
})

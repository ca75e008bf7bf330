// The backend suite's tool and structured-output cases, with the official `openai` client over
// HTTP (the relay's `respond` on a real server): a two-turn tool loop (a forced call, a
// `role: "tool"` answer, a final message), streamed and not; `required` among two tools; and
// `json_schema` output that validates against its schema. The models have random weights: only
// constrained decoding makes these answers valid, which is what the cases check.
import OpenAI from 'openai'
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions'
import * as v from 'valibot'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Backend } from '../../src/relay/v1/backend'
import { respondingServer } from './responding-server'

const weatherTool: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: { type: 'object', properties: { city: { type: 'string', minLength: 1, maxLength: 16 }, unit: { enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'] },
  },
}
const WeatherArguments = v.strictObject({ city: v.pipe(v.string(), v.minLength(1), v.maxLength(16)), unit: v.picklist(['celsius', 'fahrenheit']) })

const timeTool: ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_time', description: 'The time in a time zone.', parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'] } },
}

/** The answer's schema, and the same as valibot to check it with. */
const verdictSchema = {
  type: 'object',
  properties: {
    answer: { type: 'string', maxLength: 24 },
    confident: { type: 'boolean' },
    tags: { type: 'array', items: { enum: ['sea', 'sky', 'land'] }, maxItems: 3 },
  },
  required: ['answer', 'confident', 'tags'],
  additionalProperties: false,
}
const Verdict = v.strictObject({ answer: v.pipe(v.string(), v.maxLength(24)), confident: v.boolean(), tags: v.pipe(v.array(v.picklist(['sea', 'sky', 'land'])), v.maxLength(3)) })

const question: ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'What is the weather in Paris?' },
]

/** Enough tokens for a forced call or a small JSON answer from a random-weight model. */
const structuredTokens = 160

interface StreamedAnswer {
  content: string
  calls: { id: string; name: string; arguments: string }[]
  finish: string | null
  firstHasRole: boolean
}

async function streamed(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<StreamedAnswer> {
  const answer: StreamedAnswer = { content: '', calls: [], finish: null, firstHasRole: false }
  let first = true
  for await (const chunk of stream) {
    const choice = chunk.choices[0]
    if (choice === undefined) continue
    if (first) answer.firstHasRole = choice.delta.role === 'assistant'
    first = false
    answer.content += choice.delta.content ?? ''
    for (const delta of choice.delta.tool_calls ?? []) {
      // The first piece of a call brings its id and name; later ones only more arguments.
      if (delta.id !== undefined) answer.calls[delta.index] = { id: delta.id, name: delta.function?.name ?? '', arguments: '' }
      const call = answer.calls[delta.index]
      expect(call, `a tool_call delta for index ${delta.index} before the one with its id`).toBeDefined()
      if (call) call.arguments += delta.function?.arguments ?? ''
    }
    if (choice.finish_reason !== null) answer.finish = choice.finish_reason
  }
  return answer
}

export function runToolCases(the: () => { backend: Backend; model: string }): void {
  let client: OpenAI | undefined
  let close: (() => Promise<void>) | undefined
  const openai = (): OpenAI => {
    if (!client) throw new Error('the responding server did not start')
    return client
  }

  beforeAll(async () => {
    const { server, url } = await respondingServer(the().backend)
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 })
    close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  })
  afterAll(() => close?.())

  const base = () => ({ model: the().model, temperature: 0, seed: 7 })

  it('runs a two-turn tool loop with the openai client: a forced call, a role "tool" answer, a final message', async () => {
    const first = await openai().chat.completions.create({
      ...base(),
      messages: question,
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: structuredTokens,
    })
    const choice = first.choices[0]
    expect(choice?.finish_reason).toBe('tool_calls')
    const call = choice?.message.tool_calls?.[0]
    expect(choice?.message.tool_calls).toHaveLength(1)
    if (call?.type !== 'function') throw new Error('the answer made no function call')
    expect(call.id).toMatch(/^\S+$/)
    expect(call.function.name).toBe('get_weather')
    expect(v.safeParse(WeatherArguments, JSON.parse(call.function.arguments)).success, call.function.arguments).toBe(true)

    const second = await openai().chat.completions.create({
      ...base(),
      messages: [...question, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21, "sky": "clear"}' }],
      tools: [weatherTool, timeTool],
      max_tokens: 12,
    })
    const final = second.choices[0]
    expect(['stop', 'length']).toContain(final?.finish_reason)
    expect(final?.message.tool_calls ?? []).toEqual([])
    expect(final?.message.content?.length).toBeGreaterThan(0)
  })

  it('streams the same loop: the call as tool_call deltas with finish reason tool_calls, then the final message', async () => {
    const first = await streamed(
      await openai().chat.completions.create({
        ...base(),
        stream: true,
        messages: question,
        tools: [weatherTool],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        max_tokens: structuredTokens,
      }),
    )
    expect(first.firstHasRole).toBe(true)
    expect(first.finish).toBe('tool_calls')
    expect(first.calls).toHaveLength(1)
    const [call] = first.calls
    if (call === undefined) throw new Error('no call streamed')
    expect(call.name).toBe('get_weather')
    expect(v.safeParse(WeatherArguments, JSON.parse(call.arguments)).success, call.arguments).toBe(true)

    const second = await streamed(
      await openai().chat.completions.create({
        ...base(),
        stream: true,
        messages: [
          ...question,
          { role: 'assistant', content: '', tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }] },
          { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21}' },
        ],
        tools: [weatherTool],
        max_tokens: 12,
      }),
    )
    expect(second.firstHasRole).toBe(true)
    expect(['stop', 'length']).toContain(second.finish)
    expect(second.calls).toEqual([])
    expect(second.content.length).toBeGreaterThan(0)
  })

  it('answers tool_choice "required" with a well-formed call to one of the tools', async () => {
    const answer = await openai().chat.completions.create({ ...base(), messages: question, tools: [weatherTool, timeTool], tool_choice: 'required', max_tokens: structuredTokens })
    const call = answer.choices[0]?.message.tool_calls?.[0]
    if (call?.type !== 'function') throw new Error('the answer made no function call')
    expect(['get_weather', 'get_time']).toContain(call.function.name)
    const args: unknown = JSON.parse(call.function.arguments)
    const schema = call.function.name === 'get_weather' ? WeatherArguments : v.strictObject({ zone: v.picklist(['UTC', 'CET']) })
    expect(v.safeParse(schema, args).success, call.function.arguments).toBe(true)
    expect(answer.choices[0]?.finish_reason).toBe('tool_calls')
  })

  it('answers response_format json_schema with JSON that validates against the schema, streamed and not', async () => {
    const response_format = { type: 'json_schema' as const, json_schema: { name: 'verdict', schema: verdictSchema, strict: true } }
    const whole = await openai().chat.completions.create({ ...base(), messages: question, response_format, max_tokens: structuredTokens })
    expect(whole.choices[0]?.finish_reason).toBe('stop')
    const text = whole.choices[0]?.message.content ?? ''
    expect(v.safeParse(Verdict, JSON.parse(text)).success, text).toBe(true)
    const pieces = await streamed(await openai().chat.completions.create({ ...base(), stream: true, messages: question, response_format, max_tokens: structuredTokens }))
    expect(pieces.finish).toBe('stop')
    expect(v.safeParse(Verdict, JSON.parse(pieces.content)).success, pieces.content).toBe(true)
  })

  it('answers response_format json_object with a JSON object', async () => {
    const answer = await openai().chat.completions.create({
      ...base(),
      messages: [...question, { role: 'user', content: 'Answer in JSON.' }],
      response_format: { type: 'json_object' },
      max_tokens: structuredTokens,
    })
    const text = answer.choices[0]?.message.content ?? ''
    expect(answer.choices[0]?.finish_reason, text).toBe('stop')
    const parsed: unknown = JSON.parse(text)
    expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), text).toBe(true)
  })
}

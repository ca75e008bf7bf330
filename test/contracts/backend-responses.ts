// The backend suite's /v1/responses cases, with the official `openai` client against the relay's
// own /v1 (createV1Api over the backend): a text answer and a forced function call, whole and
// streamed (events in OpenAI's order, each with the next sequence_number), a conversation that
// hands back a call and its output, and what a stateless relay refuses. Random weights: the
// forced call is valid JSON only through the grammar, which is what the call cases check.
import OpenAI from 'openai'
import type { FunctionTool, ResponseStreamEvent } from 'openai/resources/responses/responses'
import * as v from 'valibot'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Backend } from '../../src/relay/v1/backend'
import { v1Server } from './v1-server'

const weatherTool: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: { type: 'object', properties: { city: { type: 'string', minLength: 1, maxLength: 16 }, unit: { enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'] },
  strict: true,
}
const WeatherArguments = v.strictObject({ city: v.pipe(v.string(), v.minLength(1), v.maxLength(16)), unit: v.picklist(['celsius', 'fahrenheit']) })

/** Enough tokens for a forced call from a random-weight model. */
const callTokens = 160

/** The order OpenAI sends a stream's events in, as one string per item (types only). */
function itemsOf(events: readonly ResponseStreamEvent[]): string[] {
  const items: string[] = []
  for (const event of events) {
    if (event.type === 'response.output_item.added') items.push(event.item.type)
    else if ('output_index' in event && typeof event.output_index === 'number') items[event.output_index] = `${items[event.output_index] ?? '?'} ${event.type.replace(/^response\./, '')}`
  }
  return items
}

export function runResponsesCases(the: () => { backend: Backend; model: string }): void {
  let client: OpenAI
  let close: (() => Promise<void>) | undefined
  beforeAll(async () => {
    const server = await v1Server(the().backend)
    close = () => server.close()
    client = server.client
  })
  afterAll(() => close?.())

  it('responses.create: a text answer as a message item with output_text, and usage', async () => {
    const response = await client.responses.create({ model: the().model, instructions: 'You are terse.', input: 'Tell a story about the sea.', max_output_tokens: 8, temperature: 0 })
    expect(response).toMatchObject({ object: 'response', model: the().model, error: null, store: false })
    expect(response.id).toMatch(/^resp_/)
    expect(['completed', 'incomplete']).toContain(response.status)
    if (response.status === 'incomplete') expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' })
    const message = response.output.find((item) => item.type === 'message')
    expect(message).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_text', annotations: [] }] })
    expect(response.output_text.length).toBeGreaterThan(0)
    expect(response.usage?.input_tokens).toBeGreaterThan(0)
    expect(response.usage?.output_tokens).toBeGreaterThan(0)
    expect(response.usage?.output_tokens).toBeLessThanOrEqual(8)
    expect(response.usage?.total_tokens).toBe((response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0))
  })

  it('responses.create: a forced call as a function_call item whose arguments fit the schema', async () => {
    const response = await client.responses.create({
      model: the().model,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is the weather in Paris?' }] }],
      tools: [weatherTool],
      tool_choice: { type: 'function', name: 'get_weather' },
      max_output_tokens: callTokens,
      temperature: 0,
    })
    const calls = response.output.filter((item) => item.type === 'function_call')
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' })
    expect(calls[0]?.call_id.length).toBeGreaterThan(0)
    expect(v.safeParse(WeatherArguments, JSON.parse(calls[0]?.arguments ?? '')).success).toBe(true)
    expect(response.status).toBe('completed')
  })

  it('responses.stream: text events in OpenAI’s order, sequence numbers counting from 0, the final response their sum', async () => {
    const stream = client.responses.stream({ model: the().model, input: 'Tell a story about the sea.', max_output_tokens: 8, temperature: 0 })
    const events: ResponseStreamEvent[] = []
    for await (const event of stream) events.push(event)
    const final = await stream.finalResponse()
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index))
    expect(events.slice(0, 2).map((event) => event.type)).toEqual(['response.created', 'response.in_progress'])
    expect(['response.completed', 'response.incomplete']).toContain(events.at(-1)?.type)
    const message = itemsOf(events).find((item) => item.startsWith('message'))
    expect(message?.replace(/( output_text\.delta)+/, ' output_text.delta…')).toBe('message content_part.added output_text.delta… output_text.done content_part.done output_item.done')
    const deltas = events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : []))
    expect(final.output_text).toBe(deltas.join(''))
    expect(final.output_text.length).toBeGreaterThan(0)
    expect(final.usage?.output_tokens).toBeGreaterThan(0)
  })

  it('stream: true: a forced call streams function_call_arguments deltas, then .done with the whole arguments', async () => {
    const stream = await client.responses.create({
      model: the().model,
      input: 'Weather in Oslo?',
      tools: [weatherTool],
      tool_choice: 'required',
      max_output_tokens: callTokens,
      temperature: 0,
      stream: true,
    })
    const events: ResponseStreamEvent[] = []
    for await (const event of stream) events.push(event)
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index))
    const call = itemsOf(events).find((item) => item.startsWith('function_call'))
    expect(call?.replace(/( function_call_arguments\.delta)+/, ' function_call_arguments.delta…')).toBe('function_call function_call_arguments.delta… function_call_arguments.done output_item.done')
    const done = events.find((event) => event.type === 'response.function_call_arguments.done')
    const deltas = events.flatMap((event) => (event.type === 'response.function_call_arguments.delta' ? [event.delta] : []))
    expect(done?.type === 'response.function_call_arguments.done' ? done.arguments : null).toBe(deltas.join(''))
    expect(v.safeParse(WeatherArguments, JSON.parse(deltas.join(''))).success).toBe(true)
    expect(events.at(-1)?.type).toBe('response.completed')
  })

  it('takes a conversation that hands back a function_call and its function_call_output', async () => {
    const response = await client.responses.create({
      model: the().model,
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"temperature":21}' },
      ],
      tools: [weatherTool],
      tool_choice: 'none',
      max_output_tokens: 6,
    })
    expect(response.output.map((item) => item.type)).toContain('message')
    expect(response.output_text.length).toBeGreaterThan(0)
  })

  it('refuses previous_response_id, unknown fields and tools it does not have with a 400 naming the field', async () => {
    const refused = async (body: Record<string, unknown>): Promise<unknown> =>
      client.responses.create({ model: the().model, input: 'Hi', max_output_tokens: 4, ...body } as never).then(
        () => null,
        (error: unknown) => error,
      )
    expect(await refused({ previous_response_id: 'resp_1' })).toMatchObject({ status: 400, param: 'previous_response_id' })
    expect(await refused({ frobnicate: true })).toMatchObject({ status: 400, param: 'frobnicate' })
    expect(await refused({ tools: [{ type: 'web_search' }] })).toMatchObject({ status: 400, param: 'tools.0.type' })
    expect(await refused({ tool_choice: { type: 'function', name: 'get_weather' } })).toMatchObject({ status: 400, param: 'tool_choice' })
  })
}

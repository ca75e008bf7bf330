// The Responses answer built from chat chunks (src/relay/v1/responses-output.ts), without a model:
// items in order (reasoning, message, calls), each added, streamed and done before the next; the
// whole response the sum of its events; parallel_tool_calls false; a failure mid-answer.
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/relay/v1/errors'
import { createResponseBuilder, type ResponseEvent } from '../../src/relay/v1/responses-output'
import type { ResponsesRequest } from '../../src/relay/v1/responses-request'
import { chunkBuilder, type ChatCompletionChunk } from '../../src/shared/openai'

const request: ResponsesRequest = { model: 'm', input: 'hi' }
const usage = { prompt_tokens: 5, completion_tokens: 10, total_tokens: 15 }
const build = chunkBuilder('m')
const thought = (text: string): ChatCompletionChunk => ({ ...build.content(''), choices: [{ index: 0, delta: { reasoning_content: text }, finish_reason: null }] })

function run(chunks: ChatCompletionChunk[], asked: ResponsesRequest = request): { events: ResponseEvent[]; builder: ReturnType<typeof createResponseBuilder> } {
  const builder = createResponseBuilder(asked, 'm')
  const events = [...builder.start(), ...chunks.flatMap((chunk) => builder.push(chunk))]
  return { events, builder }
}

describe('responses output', () => {
  it('streams reasoning, then the message, then each call, each item closed before the next opens', () => {
    const { events, builder } = run([
      build.role(),
      thought('Let me'),
      thought(' see.'),
      build.content('Calling.'),
      build.toolCalls([{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }]),
      build.toolCalls([{ index: 0, function: { arguments: '{"x":' } }]),
      build.toolCalls([{ index: 0, function: { arguments: '1}' } }]),
      build.toolCalls([{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }]),
      build.finish('tool_calls'),
    ])
    events.push(...builder.finish(usage))
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index))
    expect(events.map((event) => `${typeof event.output_index === 'number' ? event.output_index : '-'} ${event.type}`)).toEqual([
      '- response.created',
      '- response.in_progress',
      '0 response.output_item.added',
      '0 response.content_part.added',
      '0 response.reasoning_text.delta',
      '0 response.reasoning_text.delta',
      '0 response.reasoning_text.done',
      '0 response.content_part.done',
      '0 response.output_item.done',
      '1 response.output_item.added',
      '1 response.content_part.added',
      '1 response.output_text.delta',
      '1 response.output_text.done',
      '1 response.content_part.done',
      '1 response.output_item.done',
      '2 response.output_item.added',
      '2 response.function_call_arguments.delta',
      '2 response.function_call_arguments.delta',
      '2 response.function_call_arguments.done',
      '2 response.output_item.done',
      '3 response.output_item.added',
      '3 response.function_call_arguments.delta',
      '3 response.function_call_arguments.done',
      '3 response.output_item.done',
      '- response.completed',
    ])
    const { response } = builder
    expect(response.status).toBe('completed')
    expect(response.output).toMatchObject([
      { type: 'reasoning', content: [{ type: 'reasoning_text', text: 'Let me see.' }], status: 'completed' },
      { type: 'message', content: [{ type: 'output_text', text: 'Calling.' }], status: 'completed' },
      { type: 'function_call', call_id: 'call_a', name: 'f', arguments: '{"x":1}', status: 'completed' },
      { type: 'function_call', call_id: 'call_b', name: 'g', arguments: '{}', status: 'completed' },
    ])
    expect(response.usage).toMatchObject({ input_tokens: 5, output_tokens: 10, total_tokens: 15 })
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBeGreaterThan(0)
    // The completed event carries the response as it ended.
    expect(events.at(-1)?.response).toEqual(response)
  })

  it('parallel_tool_calls false keeps the first call only', () => {
    const { builder } = run(
      [
        build.toolCalls([{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{}' } }]),
        build.toolCalls([{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }]),
        build.finish('tool_calls'),
      ],
      { ...request, parallel_tool_calls: false },
    )
    builder.finish(usage)
    expect(builder.response.output.map((item) => item.type === 'function_call' && item.name)).toEqual(['f'])
  })

  it('an answer cut at max_output_tokens is incomplete, with the reason', () => {
    const { builder } = run([build.content('Once upon', true), build.finish('length')])
    const events = builder.finish(usage)
    expect(events.at(-1)?.type).toBe('response.incomplete')
    expect(builder.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ type: 'message', status: 'incomplete' }] })
  })

  it('a failure mid-answer closes the open item, sends an error event, then response.failed', () => {
    const { builder } = run([build.content('Once', true)])
    const events = builder.fail(new ApiError(502, 'the upstream broke', 'server_error', 'upstream_error'))
    expect(events.map((event) => event.type)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'error', 'response.failed'])
    expect(builder.response).toMatchObject({ status: 'failed', error: { code: 'upstream_error', message: 'the upstream broke' } })
  })
})

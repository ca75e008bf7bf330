// Ollama's requests as the relay's chat requests (translate.ts, options.ts) and a backend's
// chunks as Ollama's pieces (steps.ts): calls matched to their results, refusals by name.
import { describe, expect, it } from 'vitest'
import { readOptions, refuseUnhonouredOptions } from '../../src/relay/ollama/options'
import { chatSteps, completionSteps, type Step } from '../../src/relay/ollama/steps'
import { toBackendRequest } from '../../src/relay/ollama/translate'
import { ApiError, UpstreamError } from '../../src/relay/v1/errors'
import { chunkBuilder, type ChatCompletionChunk, type TextCompletionChunk } from '../../src/shared/openai'

const caps = { maxMessages: 16, maxTokens: 64 }
const user = { role: 'user' as const, content: 'Weather in Paris and Rome?' }

function refusal(run: () => unknown): ApiError {
  try {
    run()
  } catch (error) {
    if (error instanceof ApiError) return error
    throw error
  }
  throw new Error('expected a refusal')
}

async function collect(steps: AsyncIterable<Step>): Promise<Step[]> {
  const out: Step[] = []
  for await (const step of steps) out.push(step)
  return out
}

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item)
}

describe('an Ollama chat as the relay’s chat request', () => {
  it('numbers the calls and gives each tool result the id of the call it answers, by tool_name', () => {
    const request = toBackendRequest(
      {
        model: 'm',
        messages: [
          user,
          { role: 'assistant', content: '', tool_calls: [{ function: { name: 'weather', arguments: { city: 'Paris' } } }, { function: { name: 'time', arguments: { city: 'Rome' } } }] },
          { role: 'tool', content: '12:00', tool_name: 'time' },
          { role: 'tool', content: 'sunny' },
        ],
        tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
      },
      readOptions({}),
      false,
      caps,
    )
    expect(request.messages[1]).toMatchObject({
      tool_calls: [
        { id: 'call_1', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_2', function: { name: 'time' } },
      ],
    })
    expect(request.messages[2]).toMatchObject({ role: 'tool', tool_call_id: 'call_2', content: '12:00' })
    expect(request.messages[3]).toMatchObject({ role: 'tool', tool_call_id: 'call_1', content: 'sunny' })
    expect(request.tools?.[0]?.function.name).toBe('weather')
    expect(request.max_tokens).toBe(caps.maxTokens)
  })

  it('refuses a tool result that answers no call, naming the message', () => {
    expect(refusal(() => toBackendRequest({ model: 'm', messages: [user, { role: 'tool', content: 'x' }] }, readOptions({}), false, caps))).toMatchObject({ status: 400, param: 'messages.1' })
  })

  it('reads format as response_format and think as the thinking fields', () => {
    const json = toBackendRequest({ model: 'm', messages: [user], format: 'json', think: false }, readOptions({}), true, caps)
    expect(json).toMatchObject({ response_format: { type: 'json_object' }, chat_template_kwargs: { enable_thinking: false }, stream: true })
    const schema = { type: 'object', properties: { a: { type: 'string' } } }
    const shaped = toBackendRequest({ model: 'm', messages: [user], format: schema, think: 'high' }, readOptions({}), false, caps)
    expect(shaped).toMatchObject({ response_format: { type: 'json_schema', json_schema: { schema } }, reasoning_effort: 'high', chat_template_kwargs: { enable_thinking: true } })
    expect(refusal(() => toBackendRequest({ model: 'm', messages: [user], format: 'yaml' }, readOptions({}), false, caps))).toMatchObject({ param: 'format' })
  })

  it('takes the sampling options under their own names, num_predict as max_tokens within the cap', () => {
    const request = toBackendRequest({ model: 'm', messages: [user] }, readOptions({ temperature: 0.2, top_p: 0.9, seed: 7, num_predict: 12, stop: ['\n\n'] }), false, caps)
    expect(request).toMatchObject({ temperature: 0.2, top_p: 0.9, seed: 7, max_tokens: 12, stop: ['\n\n'] })
    expect(refusal(() => toBackendRequest({ model: 'm', messages: [user] }, readOptions({ num_predict: 65 }), false, caps))).toMatchObject({ param: 'options.num_predict' })
    expect(readOptions({ num_predict: -1 }).max_tokens).toBeUndefined()
  })
})

describe('Ollama options', () => {
  it('refuses by name what the relay sets itself, what it does not know, and values out of range', () => {
    expect(refusal(() => readOptions({ num_thread: 4 })).message).toContain('RELAY_MODEL_THREADS')
    expect(refusal(() => readOptions({ num_gpu: 1 })).param).toBe('options.num_gpu')
    expect(refusal(() => readOptions({ penalize_newline: true })).param).toBe('options.penalize_newline')
    expect(refusal(() => readOptions({ top_p: 3 })).param).toBe('options.top_p')
    expect(refusal(() => readOptions({ seed: 1.5 })).param).toBe('options.seed')
    expect(refusal(() => readOptions({ num_predict: 0 })).param).toBe('options.num_predict')
  })

  it('passes the further sampling options under their OpenAI names, and refuses those no backend knows', () => {
    expect(readOptions({ top_k: 40, repeat_penalty: 1.1, frequency_penalty: 0.5, presence_penalty: 0.2, min_p: 0.05 }).extra).toEqual({
      top_k: 40,
      repeat_penalty: 1.1,
      frequency_penalty: 0.5,
      presence_penalty: 0.2,
      min_p: 0.05,
    })
    for (const option of ['typical_p', 'mirostat', 'tfs_z', 'repeat_last_n']) expect(refusal(() => readOptions({ [option]: 1 })).param).toBe(`options.${option}`)
  })

  it('names the option when a backend does not honour its field, as /v1 names the field', () => {
    const plain = { name: 'swarm', sampling: { chat: [], completion: [], passesUnknown: false } }
    const request = toBackendRequest({ model: 'm', messages: [user] }, readOptions({ top_k: 40 }), false, caps)
    const refused = refusal(() => refuseUnhonouredOptions(request, 'chat', plain))
    expect(refused).toMatchObject({ status: 400, param: 'options.top_k' })
    expect(refused.message).toMatch(/^options\.top_k is not supported by the swarm backend/)
    expect(() => refuseUnhonouredOptions(request, 'chat', { name: 'embedded', sampling: { chat: ['top_k'], completion: [], passesUnknown: false } })).not.toThrow()
  })
})

describe('a backend’s chunks as Ollama’s pieces', () => {
  const build = chunkBuilder('m')
  const usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }

  it('sends a call whole, its arguments an object, after the text; the thinking apart', async () => {
    const chunks: ChatCompletionChunk[] = [
      build.role(),
      build.content('<think>plan'),
      build.content('</think>Sure.'),
      build.toolCalls([{ index: 0, id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"ci' } }]),
      build.toolCalls([{ index: 0, function: { arguments: 'ty":"Paris"}' } }]),
      build.finish('tool_calls'),
      build.usage(usage),
    ]
    const steps = await collect(chatSteps(from(chunks), true))
    const pieces = steps.flatMap((step) => (step.kind === 'piece' ? [step.piece] : []))
    expect(pieces.map((piece) => piece.thinking).join('')).toBe('plan')
    expect(pieces.map((piece) => piece.content).join('')).toBe('Sure.')
    expect(pieces.at(-1)?.toolCalls).toEqual([{ function: { name: 'weather', arguments: { city: 'Paris' } } }])
    expect(steps.at(-1)).toEqual({ kind: 'end', reason: 'stop', usage })
  })

  it('drops the thinking with think: false and says length when the answer was cut', async () => {
    const steps = await collect(chatSteps(from([build.content('<think>hmm</think>ok'), build.finish('length')]), false))
    expect(steps).toEqual([
      { kind: 'piece', piece: { content: 'ok', thinking: '', toolCalls: [] } },
      { kind: 'end', reason: 'length', usage: null },
    ])
  })

  it('fails a call whose arguments are not a JSON object', async () => {
    const chunks = [build.toolCalls([{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '[1]' } }]), build.finish('tool_calls')]
    await expect(collect(chatSteps(from(chunks), true))).rejects.toBeInstanceOf(UpstreamError)
  })

  it('reads a raw completion’s text chunks', async () => {
    const text = (value: string, finish: 'length' | null = null): TextCompletionChunk => ({
      id: 'x',
      object: 'text_completion',
      created: 0,
      model: 'm',
      choices: [{ index: 0, text: value, finish_reason: finish, logprobs: null }],
    })
    const steps = await collect(completionSteps(from([text('a'), text('b', 'length')])))
    expect(steps.map((step) => (step.kind === 'piece' ? step.piece.content : step.reason))).toEqual(['a', 'b', 'length'])
  })
})

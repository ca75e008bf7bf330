// /v1 charges what it serves: a stream the client aborts or the upstream breaks is charged the
// chunks it got; max_tokens is reserved at admission, so requests in parallel cannot take a
// day past its budget; the upstream's own words stay in the log; a swarm executor's usage is
// held to what it streamed.
import { afterEach, describe, expect, it } from 'vitest'
import { clampedUsage, chunksOfTask } from '../../src/relay/gateway/translate'
import type { ChatCompletionChunk } from '../../src/shared/openai'
import { readSseData } from '../../src/shared/sse'
import type { TaskEvent, TaskHandle, TaskResult } from '../../src/market'
import { callArgumentPieces, startFakeUpstream, upstreamPromptTokens, upstreamSecret, type FakeUpstream } from './relay-v1/fake-upstream'
import { requestRecords, startRelay, waitFor, type StartedRelay } from './relay-v1/start'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

async function setup(intervalMs: number, v1Env: Record<string, string> = {}): Promise<{ relay: StartedRelay; upstream: FakeUpstream }> {
  const upstream = await startFakeUpstream(intervalMs)
  const relay = await startRelay({ RELAY_UPSTREAM_URL: upstream.url, RELAY_RATE_PER_MIN: '1000', ...v1Env })
  cleanups.push(
    () => relay.close(),
    () => upstream.close(),
  )
  // The upstream backend learns the names the upstream serves from its model list.
  await (await fetch(`${relay.baseUrl}/v1/models`)).arrayBuffer()
  return { relay, upstream }
}

const body = (model: string, maxTokens: number, stream: boolean): string => JSON.stringify({ model, stream, max_tokens: maxTokens, messages: [{ role: 'user', content: 'Count to a thousand.' }] })

const post = (relay: StartedRelay, text: string, signal?: AbortSignal): Promise<Response> =>
  fetch(`${relay.baseUrl}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: text, ...(signal ? { signal } : {}) })

const textChunks = (data: string): number => {
  if (data === '[DONE]') return 0
  const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] }
  return (chunk.choices?.[0]?.delta?.content ?? '') === '' ? 0 : 1
}

interface Charged {
  promptTokens: number
  completionTokens: number
  aborted?: boolean
  status: number
}

async function lastCharge(relay: StartedRelay, count: number): Promise<Charged[]> {
  await waitFor(() => requestRecords(relay.records).filter((record) => record.path === '/v1/chat/completions').length >= count)
  return requestRecords(relay.records).filter((record) => record.path === '/v1/chat/completions') as unknown as Charged[]
}

describe('/v1 charges what it served', () => {
  it('charges an aborted stream the chunks it sent, prompt included', async () => {
    const { relay } = await setup(15)
    const controller = new AbortController()
    const response = await post(relay, body('tokens', 1000, true), controller.signal)
    expect(response.status).toBe(200)
    let received = 0
    try {
      for await (const data of readSseData(response.body ?? new ReadableStream())) {
        received += textChunks(data)
        if (received === 10) controller.abort()
      }
    } catch (error) {
      expect(String(error)).toMatch(/abort/i)
    }
    expect(received).toBe(10)
    const [charged] = await lastCharge(relay, 1)
    expect(charged).toMatchObject({ aborted: true, status: 200 })
    // At least what reached the client, and far from the 1000 it asked for.
    expect(charged?.completionTokens).toBeGreaterThanOrEqual(10)
    expect(charged?.completionTokens).toBeLessThan(100)
    expect(charged?.promptTokens).toBeGreaterThan(0)
    const health = (await (await fetch(`${relay.baseUrl}/healthz`)).json()) as { v1: { completionTokens: number } }
    expect(health.v1.completionTokens).toBe(charged?.completionTokens)
  })

  it('charges a stream the upstream broke the chunks it sent', async () => {
    const { relay } = await setup(5)
    const response = await post(relay, body('broken', 100, true), undefined)
    const events: string[] = []
    for await (const data of readSseData(response.body ?? new ReadableStream())) events.push(data)
    expect(events.filter((data) => textChunks(data) === 1)).toHaveLength(5)
    expect(events.at(-1)).toMatch(/"upstream_error"/)
    const [charged] = await lastCharge(relay, 1)
    expect(charged?.completionTokens).toBe(5)
    expect(charged?.promptTokens).toBeGreaterThan(0)
  })

  it('charges a non-streamed answer the client left early for what the backend made', async () => {
    const { relay } = await setup(10)
    const controller = new AbortController()
    const answer = post(relay, body('tokens', 1000, false), controller.signal).catch((error: unknown) => error)
    await new Promise((resolve) => setTimeout(resolve, 300))
    controller.abort()
    await answer
    const [charged] = await lastCharge(relay, 1)
    expect(charged?.aborted).toBe(true)
    expect(charged?.completionTokens).toBeGreaterThan(5)
    expect(charged?.completionTokens).toBeLessThan(200)
  })

  it('does not let parallel requests overshoot the daily budget', async () => {
    const dailyTokens = 1000
    const { relay, upstream } = await setup(2, { RELAY_DAILY_TOKENS: String(dailyTokens) })
    // Each may cost its prompt (the body's bytes bound it) and 300 tokens; 8 at once would be 2560.
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(relay, body('tokens', 300, false))))
    const statuses = answers.map((answer) => answer.status)
    const bodies = (await Promise.all(answers.map((answer) => answer.json()))) as { error?: { code: string } }[]
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(1)
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(2)
    expect(statuses.filter((status) => status === 429)).toHaveLength(8 - statuses.filter((status) => status === 200).length)
    for (const answer of bodies) if (answer.error) expect(['daily_budget_reserved', 'daily_budget_exceeded']).toContain(answer.error.code)
    // Go on one at a time until the budget says no: what was spent never passes it.
    for (let i = 0; i < 5; i += 1) await (await post(relay, body('tokens', 300, false))).arrayBuffer()
    const charges = await lastCharge(relay, 13)
    const spent = charges.reduce((sum, charge) => sum + charge.promptTokens + charge.completionTokens, 0)
    expect(spent).toBeLessThanOrEqual(dailyTokens)
    expect(spent).toBeGreaterThanOrEqual(2 * (upstreamPromptTokens + 300))
    expect(upstream.started()).toBe(charges.filter((charge) => charge.status === 200).length)
  })
})

describe('upstream errors', () => {
  it("give clients a generic message and keep the upstream's words in the log", async () => {
    const { relay } = await setup(5)
    const failed = await post(relay, body('fails', 10, true))
    expect(failed.status).toBe(502)
    const failure = (await failed.json()) as { error: { message: string; code: string } }
    expect(failure.error.code).toBe('upstream_error')
    expect(failure.error.message).not.toContain('SECRET')
    expect(failure.error.message).not.toContain('database')
    const refused = await post(relay, body('refuses', 10, false))
    expect(refused.status).toBe(400)
    const refusal = (await refused.json()) as { error: { message: string; code: string } }
    expect(refusal.error.code).toBe('upstream_refused')
    expect(refusal.error.message).toContain('context_length_exceeded')
    expect(refusal.error.message).not.toContain('SECRET')
    const logged = JSON.stringify(relay.records.filter((record) => record.msg === 'v1 request failed'))
    expect(logged).toContain(upstreamSecret)
    expect(logged).toContain('database down')
  })
})

describe('a swarm executor’s usage', () => {
  const request = { messages: [{ role: 'user' as const, content: 'hi there' }], max_tokens: 50 }

  it('is held to the bytes streamed, the prompt’s bound and max_tokens', () => {
    const streamed = { chars: 11, bytes: 11 }
    expect(clampedUsage({ prompt_tokens: 1e9, completion_tokens: 1e9, total_tokens: 2e9 }, request, streamed)).toEqual({ prompt_tokens: 24, completion_tokens: 11, total_tokens: 35 })
    expect(clampedUsage({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }, request, streamed)).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 })
    expect(clampedUsage({ prompt_tokens: -5, completion_tokens: Number.NaN, total_tokens: 0 }, request, streamed)).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 })
    expect(clampedUsage({ prompt_tokens: 1, completion_tokens: 500, total_tokens: 501 }, request, { chars: 400, bytes: 400 }).completion_tokens).toBe(50)
    expect(clampedUsage(undefined, request, { chars: 40, bytes: 40 })).toEqual({ prompt_tokens: 2, completion_tokens: 10, total_tokens: 12 })
  })

  it('reaches the client clamped when an executor claims a billion tokens', async () => {
    const events: TaskEvent[] = [
      { type: 'text', text: 'Hello', epoch: 1, executor: 'e'.repeat(20) },
      { type: 'text', text: ' world', epoch: 1, executor: 'e'.repeat(20) },
    ]
    const result: TaskResult = { taskId: 't', text: 'Hello world', finish: 'stop', executor: 'e'.repeat(20), epoch: 1, usage: { prompt_tokens: 1e9, completion_tokens: 1e9, total_tokens: 2e9 } }
    const handle: TaskHandle = {
      id: 't',
      chunks: (async function* () {
        for (const event of events) yield await Promise.resolve(event)
      })(),
      result: Promise.resolve(result),
      cancel: () => undefined,
    }
    const chunks: ChatCompletionChunk[] = []
    for await (const chunk of chunksOfTask(handle, request, 'swarm/lab', new AbortController().signal)) chunks.push(chunk)
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 24, completion_tokens: 11, total_tokens: 35 })
  })
})

describe('/v1 forwards tool calls from an upstream with function calling', () => {
  const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }]
  const ask = (stream: boolean, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ model: 'tokens', stream, max_tokens: 8, messages: [{ role: 'user', content: 'Look it up.' }], tools, tool_choice: 'required', ...extra })

  it('puts the streamed pieces of a call together for a non-streamed answer, and charges them', async () => {
    const { relay } = await setup(1)
    const response = await post(relay, ask(false))
    expect(response.status).toBe(200)
    const completion = (await response.json()) as { choices: { finish_reason: string; message: { content: string | null; tool_calls: unknown[] } }[]; usage: { completion_tokens: number } }
    expect(completion.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: { content: null, tool_calls: [{ id: 'call_fake_0', type: 'function', function: { name: 'lookup', arguments: callArgumentPieces.join('') } }] },
    })
    expect(completion.usage.completion_tokens).toBe(callArgumentPieces.length)
    const [charged] = await lastCharge(relay, 1)
    expect(charged).toMatchObject({ status: 200, completionTokens: callArgumentPieces.length })
  })

  it('passes the deltas of a streamed call through as they came', async () => {
    const { relay } = await setup(1)
    const response = await post(relay, ask(true))
    const deltas: unknown[] = []
    const finishes: string[] = []
    for await (const data of readSseData(response.body as ReadableStream<Uint8Array>)) {
      if (data === '[DONE]') break
      const chunk = JSON.parse(data) as ChatCompletionChunk
      deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []))
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason)
    }
    expect(deltas).toEqual([
      { index: 0, id: 'call_fake_0', type: 'function', function: { name: 'lookup', arguments: '' } },
      ...callArgumentPieces.map((piece) => ({ index: 0, function: { arguments: piece } })),
    ])
    expect(finishes).toEqual(['tool_calls'])
  })

  it('answers 400 when the upstream cannot do a response_format, never dropping it', async () => {
    const { relay } = await setup(1)
    const response = await post(relay, ask(false, { tools: undefined, tool_choice: undefined, response_format: { type: 'json_object' } }))
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_refused')
  })
})

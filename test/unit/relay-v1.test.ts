// /v1 end to end with real backends: relay B runs the tiny GGUF (embedded backend); relay A
// forwards to B (upstream backend). The official openai client talks to both.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import OpenAI, { APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureFixture } from '../../scripts/gguf/fixture-file'
import { tinyQwen3 } from '../../scripts/gguf/specs'
import { closedPort, requestRecords, startRelay, waitFor, type StartedRelay } from './relay-v1/start'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))
mkdirSync(fixturesDirectory, { recursive: true })
const modelPath = ensureFixture(fixturesDirectory, tinyQwen3).path
const modelId = 'tiny-qwen3'
const token = 'test-token'

// llama.cpp's prebuilt binaries load on every platform npm test runs on; where they do not, the
// suite fails (a skipped case would pass without checking anything).
const llamaFailure = await import('node-llama-cpp')
  .then(async ({ getLlama, LlamaLogLevel }) => {
    const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error })
    await llama.dispose()
    return null
  })
  .catch((error: unknown) => (error instanceof Error ? error.message : String(error)))

let relayB: StartedRelay
let relayA: StartedRelay
/** What beforeAll started, so afterAll closes only that when a start failed. */
const started: StartedRelay[] = []

beforeAll(async () => {
  if (llamaFailure !== null) throw new Error(`node-llama-cpp cannot load llama.cpp on this machine, so the embedded and upstream cases cannot run: ${llamaFailure}`)
  relayB = await startRelay({
    RELAY_TOKENS: token,
    RELAY_MODEL_PATH: modelPath,
    RELAY_MODEL_THREADS: '1',
    RELAY_MODEL_GPU: 'off',
    RELAY_MODEL_CONCURRENCY: '2',
    RELAY_MODEL_CONTEXT: '2048',
  })
  started.push(relayB)
  relayA = await startRelay({ RELAY_UPSTREAM_URL: `${relayB.baseUrl}/v1`, RELAY_UPSTREAM_KEY: token, RELAY_UPSTREAM_TIMEOUT_MS: '20000' })
  started.push(relayA)
}, 30_000)

afterAll(async () => {
  await Promise.all(started.map((relay) => relay.close()))
})

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello to the world.' },
]

function clientFor(relay: StartedRelay, apiKey = token): OpenAI {
  return new OpenAI({ baseURL: `${relay.baseUrl}/v1`, apiKey, maxRetries: 0, timeout: 30_000 })
}

describe('the openai client against the embedded backend', () => {
  it('has node-llama-cpp to run the embedded backend', () => {
    expect(llamaFailure, 'node-llama-cpp could not load its prebuilt binary on this machine').toBeNull()
  })

  it('lists the model', async () => {
    const models = await clientFor(relayB).models.list()
    expect(models.data.map((model) => model.id)).toEqual([modelId])
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'edgeswarm-relay' })
  })

  it('completes without streaming, honouring max_tokens', async () => {
    // The deprecated field on purpose: curl scripts and older clients still send it.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const completion = await clientFor(relayB).chat.completions.create({ model: modelId, messages, max_tokens: 6, temperature: 0 })
    expect(completion.object).toBe('chat.completion')
    expect(completion.id).toMatch(/^chatcmpl-/)
    expect(completion.model).toBe(modelId)
    expect(completion.choices).toHaveLength(1)
    const [choice] = completion.choices
    expect(choice?.message.role).toBe('assistant')
    expect(typeof choice?.message.content).toBe('string')
    // The random-weight model talks until it is stopped.
    expect(choice?.finish_reason).toBe('length')
    expect(completion.usage?.completion_tokens).toBe(6)
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(5)
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + 6)
  })

  it('stops at a stop sequence, leaving it out', async () => {
    const client = clientFor(relayB)
    const first = await client.chat.completions.create({ model: modelId, messages, max_completion_tokens: 24, temperature: 0 })
    const text = first.choices[0]?.message.content ?? ''
    const stop = text.slice(6, 9)
    expect(stop.length).toBe(3)
    const stopped = await client.chat.completions.create({ model: modelId, messages, max_completion_tokens: 24, temperature: 0, stop: [stop] })
    expect(stopped.choices[0]?.finish_reason).toBe('stop')
    expect(stopped.choices[0]?.message.content).toBe(text.slice(0, text.indexOf(stop)))
  })

  it('streams chunks, then the usage chunk, honouring max_tokens', async () => {
    const stream = await clientFor(relayB).chat.completions.create({
      model: modelId,
      messages,
      max_completion_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.length).toBeGreaterThan(2)
    for (const chunk of chunks) {
      expect(chunk.object).toBe('chat.completion.chunk')
      expect(chunk.id).toBe(chunks[0]?.id)
    }
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant')
    const finishes = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason).filter((reason) => reason !== null))
    expect(finishes).toEqual(['length'])
    const last = chunks.at(-1)
    expect(last?.choices).toEqual([])
    expect(last?.usage?.completion_tokens).toBe(8)
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage == null)).toBe(true)
  })

  it('leaves usage out of the stream unless asked, and stops at max_tokens 1', async () => {
    const stream = await clientFor(relayB).chat.completions.create({ model: modelId, messages, max_completion_tokens: 1, stream: true })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.every((chunk) => chunk.usage == null && chunk.choices.length === 1)).toBe(true)
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length')
  })

  it('turns a 401 into the client APIError', async () => {
    const failure = await clientFor(relayB, 'wrong')
      .models.list()
      .catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(APIError)
    expect((failure as APIError).status).toBe(401)
    expect((failure as APIError).code).toBe('invalid_api_key')
  })

  it('reports the backend and counters in /healthz', async () => {
    const health = (await (await fetch(`${relayB.baseUrl}/healthz`, { headers: { Authorization: `Bearer ${token}` } })).json()) as {
      backends: { name: string; state: { state: string } }[]
      v1: { requests: number; completionTokens: number; latencyP50Ms: number }
    }
    expect(health.backends).toEqual([{ name: 'embedded', state: { state: 'ready', active: 0, queued: 0 } }])
    expect(health.v1.requests).toBeGreaterThanOrEqual(4)
    expect(health.v1.completionTokens).toBeGreaterThanOrEqual(15)
    expect(health.v1.latencyP50Ms).toBeGreaterThan(0)
    const logged = requestRecords(relayB.records).find((record) => record.backend === 'embedded')
    expect(logged).toMatchObject({ method: 'POST', path: '/v1/chat/completions', model: modelId, status: 200 })
    expect(JSON.stringify(relayB.records)).not.toContain('Say hello')
  })
})

describe('relay A forwarding to relay B', () => {
  it('passes a stream through, usage included, and lists B’s models', async () => {
    const client = clientFor(relayA, 'unused')
    expect((await client.models.list()).data.map((model) => model.id)).toEqual([modelId])
    const stream = await client.chat.completions.create({ model: modelId, messages, max_completion_tokens: 5, stream: true, stream_options: { include_usage: true } })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.length).toBeGreaterThan(2)
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(5)
    const completion = await client.chat.completions.create({ model: modelId, messages, max_completion_tokens: 4 })
    expect(completion.usage?.completion_tokens).toBe(4)
    expect(completion.choices[0]?.finish_reason).toBe('length')
    expect(requestRecords(relayA.records).at(-1)).toMatchObject({ backend: 'upstream', status: 200, completionTokens: 4 })
  })

  it('cancels the upstream generation when the client goes away', async () => {
    const before = requestRecords(relayB.records).length
    const controller = new AbortController()
    const stream = await clientFor(relayA, 'unused').chat.completions.create({ model: modelId, messages, max_completion_tokens: 1500, stream: true }, { signal: controller.signal })
    let received = 0
    try {
      for await (const _chunk of stream) {
        received += 1
        if (received === 3) controller.abort()
      }
    } catch (error) {
      // The client may end the iteration quietly or throw its abort error; both are fine.
      expect(String(error)).toMatch(/abort/i)
    }
    expect(received).toBe(3)
    // B logs the request as ended, aborted, long before 1500 tokens.
    await waitFor(() => requestRecords(relayB.records).length > before, 10_000)
    const ended = requestRecords(relayB.records).at(-1)
    expect(ended).toMatchObject({ backend: 'embedded', aborted: true })
    expect(ended?.completionTokens).toBeLessThan(1500)
    const health = (await (await fetch(`${relayB.baseUrl}/healthz`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { backends: { state: { active: number } }[] }
    expect(health.backends[0]?.state.active).toBe(0)
    await waitFor(() => requestRecords(relayA.records).some((record) => record.aborted === true))
  })

  it('answers 502 in OpenAI’s error shape when the upstream is down, and keeps serving', async () => {
    const port = await closedPort()
    const relayC = await startRelay({ RELAY_UPSTREAM_URL: `http://127.0.0.1:${port}/v1`, RELAY_UPSTREAM_RETRIES: '1' })
    try {
      const response = await fetch(`${relayC.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: modelId, messages, stream: true }),
      })
      expect(response.status).toBe(502)
      const body = (await response.json()) as { error: Record<string, unknown> }
      expect(body.error).toMatchObject({ type: 'server_error', code: 'upstream_unreachable', param: null })
      // The client reads that the upstream is unreachable; where and why is for the log.
      expect(body.error.message).toMatch(/cannot be reached/)
      expect(body.error.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/)
      expect(JSON.stringify(relayC.records.filter((record) => record.msg === 'v1 request failed'))).toMatch(/ECONNREFUSED/)
      const failure = await clientFor(relayC)
        .chat.completions.create({ model: modelId, messages })
        .catch((error: unknown) => error)
      expect((failure as APIError).status).toBe(502)
      const health = (await (await fetch(`${relayC.baseUrl}/healthz`)).json()) as { backends: { state: { state: string } }[] }
      expect(health.backends[0]?.state.state).toBe('unreachable')
      expect((await fetch(`${relayC.baseUrl}/v1/models`)).status).toBe(200)
    } finally {
      await relayC.close()
    }
  })
})

describe('tools and structured output through /v1', () => {
  const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 } }, required: ['city'] } } }

  it('answers a forced call through the whole relay, embedded and forwarded, with tool_calls and finish_reason tool_calls', async () => {
    for (const relay of [relayB, relayA]) {
      const completion = await clientFor(relay).chat.completions.create({ model: modelId, messages, tools: [weather], tool_choice: 'required', max_tokens: 96, temperature: 0 })
      const [choice] = completion.choices
      expect(choice?.finish_reason).toBe('tool_calls')
      expect(choice?.message.content).toBeNull()
      const call = choice?.message.tool_calls?.[0]
      if (call?.type !== 'function') throw new Error('no function call came back')
      expect(call.function.name).toBe('get_weather')
      const args = JSON.parse(call.function.arguments) as { city?: unknown }
      expect(typeof args.city).toBe('string')
      // The call's text is charged as completion tokens.
      expect(completion.usage?.completion_tokens).toBeGreaterThan(0)
    }
  })

  it('answers 400 naming the part of a schema the embedded grammar cannot enforce, and a forced call with a response_format; forwarded, B’s 400 stays a 400', async () => {
    const pattern = { type: 'json_schema' as const, json_schema: { name: 'code', schema: { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{3}$' } } } } }
    const refused = await clientFor(relayB)
      .chat.completions.create({ model: modelId, messages, response_format: pattern, max_tokens: 8 })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(APIError)
    expect(refused).toMatchObject({ status: 400, param: 'response_format.json_schema.schema.properties.code.pattern', code: 'unsupported_schema' })
    const both = await clientFor(relayB)
      .chat.completions.create({ model: modelId, messages, tools: [weather], tool_choice: 'required', response_format: { type: 'json_object' }, max_tokens: 8 })
      .catch((error: unknown) => error)
    expect(both).toMatchObject({ status: 400, param: 'response_format', code: 'unsupported_combination' })
    const forwarded = await clientFor(relayA)
      .chat.completions.create({ model: modelId, messages, response_format: pattern, max_tokens: 8 })
      .catch((error: unknown) => error)
    expect(forwarded).toMatchObject({ status: 400, code: 'upstream_refused' })
  })
})

// POST /v1/completions and GET /v1/models/{id} on the whole relay (in-process, real HTTP), with
// the official `openai` client: the embedded backend on the tiny GGUF, fill-in-the-middle on the
// tiny coder GGUF (directly and through a second relay as its upstream), the swarm gateway's
// `swarm/<room>` ids, the request checks that do not depend on a backend, and the budget.
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureFixture } from '../../scripts/gguf/fixture-file'
import { tinyCoder } from '../../scripts/gguf/specs'
import { sseEvent } from '../../src/shared/sse'
import { tinyModelId, tinyModelPath } from './backend/tiny-model'
import { closedPort, requestRecords, startRelay, waitFor, waitForBackendReady, type StartedRelay } from './relay-v1/start'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))
mkdirSync(fixturesDirectory, { recursive: true })
const coderPath = ensureFixture(fixturesDirectory, tinyCoder).path

const token = 'completions-token'
const modelEnv = { RELAY_TOKENS: token, RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', RELAY_MODEL_CONTEXT: '1024' }
const clientOf = (relay: StartedRelay): OpenAI => new OpenAI({ baseURL: `${relay.baseUrl}/v1`, apiKey: token, maxRetries: 0, timeout: 30_000 })

async function started(env: Record<string, string>): Promise<StartedRelay> {
  const relay = await startRelay(env)
  try {
    await waitForBackendReady(relay, 30_000, token)
  } catch (error) {
    await relay.close()
    throw error
  }
  return relay
}

async function postJson(relay: StartedRelay, path: string, body: unknown): Promise<{ status: number; json: { error?: { param: string | null; code: string | null; message: string } } }> {
  const response = await fetch(`${relay.baseUrl}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  return { status: response.status, json: (await response.json()) as { error?: { param: string | null; code: string | null; message: string } } }
}

describe('/v1/completions on the embedded backend (tiny Qwen3)', () => {
  let relay: StartedRelay
  beforeAll(async () => {
    relay = await started({ ...modelEnv, RELAY_MODEL_PATH: tinyModelPath, RELAY_DAILY_TOKENS: '5000' })
  }, 60_000)
  afterAll(() => relay.close())

  it('answers the openai client, streamed and not, and charges what it served to the caller', async () => {
    const client = clientOf(relay)
    const whole = await client.completions.create({ model: tinyModelId, prompt: 'The sea', max_tokens: 5, temperature: 0 })
    expect(whole.object).toBe('text_completion')
    expect(whole.choices[0]?.text.length).toBeGreaterThan(0)
    const stream = await client.completions.create({ model: tinyModelId, prompt: 'The sea', max_tokens: 5, temperature: 0, stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices.map((choice) => choice.text).join('')
    expect(text).toBe(whole.choices[0]?.text)
    await waitFor(() => requestRecords(relay.records).filter((record) => record.path === '/v1/completions').length === 2)
    const logged = requestRecords(relay.records).filter((record) => record.path === '/v1/completions')
    for (const record of logged) {
      expect(record).toMatchObject({ status: 200, backend: 'embedded', model: tinyModelId, promptTokens: whole.usage?.prompt_tokens, completionTokens: whole.usage?.completion_tokens })
    }
    expect(logged.map((record) => record.stream)).toEqual([false, true])
  })

  it('continues an empty prompt, again and again (the sequence holds nothing that leaves it no room)', async () => {
    for (let round = 0; round < 3; round++) {
      const answer = await clientOf(relay).completions.create({ model: tinyModelId, prompt: '', max_tokens: 3, temperature: 1 })
      expect(answer.choices[0]?.finish_reason, `round ${round}`).toBe('length')
    }
  })

  it('defaults max_tokens to 16, as OpenAI does', async () => {
    const answer = await clientOf(relay).completions.create({ model: tinyModelId, prompt: 'The sea' })
    expect(answer.usage?.completion_tokens).toBe(16)
    expect(answer.choices[0]?.finish_reason).toBe('length')
  })

  it('refuses token arrays, several prompts, no prompt, and max_tokens over the cap, each with a 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ prompt: [1, 2, 3] }, 'prompt'],
      [{ prompt: [[1, 2]] }, 'prompt'],
      [{ prompt: ['one', 'two'] }, 'prompt'],
      [{ prompt: [] }, 'prompt'],
      [{}, 'prompt'],
      [{ prompt: 'x', max_tokens: 5000 }, 'max_tokens'],
      [{ prompt: 'x', suffix: 'y' }, 'suffix'],
      [{ prompt: 'x', best_of: 3 }, 'best_of'],
    ]
    for (const [fields, param] of cases) {
      const { status, json } = await postJson(relay, '/v1/completions', { model: tinyModelId, max_tokens: 4, ...fields })
      expect(status, JSON.stringify(fields)).toBe(400)
      expect(json.error?.param, JSON.stringify(fields)).toBe(param)
    }
  })

  it('reserves a bound of the request against the day budget: one past it is a 429 before the model runs', async () => {
    const { status, json } = await postJson(relay, '/v1/completions', { model: tinyModelId, prompt: 'x'.repeat(6000), max_tokens: 4 })
    expect(status).toBe(429)
    expect(json.error?.code).toBe('daily_budget_exceeded')
  })

  it('answers GET /v1/models/{id} for its model, 404 naming model for another, and HEAD without a body', async () => {
    const client = clientOf(relay)
    expect(await client.models.retrieve(tinyModelId)).toMatchObject({ id: tinyModelId, object: 'model', owned_by: 'edgeswarm-relay' })
    await expect(client.models.retrieve('gpt-4o')).rejects.toMatchObject({ status: 404, param: 'model', code: 'model_not_found' })
    const head = await fetch(`${relay.baseUrl}/v1/models/${tinyModelId}`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    const unauthorized = await fetch(`${relay.baseUrl}/v1/models/${tinyModelId}`)
    expect(unauthorized.status).toBe(401)
  })
})

describe('fill-in-the-middle (suffix) on a model with infill tokens (tiny coder)', () => {
  let coder: StartedRelay
  let front: StartedRelay
  beforeAll(async () => {
    coder = await started({ ...modelEnv, RELAY_MODEL_PATH: coderPath })
    front = await started({ RELAY_TOKENS: token, RELAY_UPSTREAM_URL: `${coder.baseUrl}/v1`, RELAY_UPSTREAM_KEY: token })
  }, 60_000)
  afterAll(async () => {
    await front.close()
    await coder.close()
  })

  it('fills in between prompt and suffix (not a plain completion), the same through a relay that passes it upstream', async () => {
    const ask = { model: 'tiny-coder', prompt: 'def add(a, b):\n    return', max_tokens: 8, temperature: 0 }
    const plain = await clientOf(coder).completions.create(ask)
    const filled = await clientOf(coder).completions.create({ ...ask, suffix: '\n\nprint(add(1, 2))\n' })
    expect(filled.choices[0]?.text.length).toBeGreaterThan(0)
    expect(filled.choices[0]?.text).not.toBe(plain.choices[0]?.text)
    // The suffix's tokens count as prompt tokens.
    expect(filled.usage?.prompt_tokens).toBeGreaterThan(plain.usage?.prompt_tokens ?? 0)
    const upstream = await clientOf(front).completions.create({ ...ask, suffix: '\n\nprint(add(1, 2))\n' })
    expect(upstream.choices[0]?.text).toBe(filled.choices[0]?.text)
    const streamed = await clientOf(front).completions.create({ ...ask, suffix: '\n\nprint(add(1, 2))\n', stream: true })
    let text = ''
    for await (const chunk of streamed) text += chunk.choices.map((choice) => choice.text).join('')
    expect(text).toBe(filled.choices[0]?.text)
  })
})

/** An upstream that answers /completions with a chat chunk for `wrong-kind`, a cut stream for `cut`, and 500 for anything else. */
async function hostileUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (part: Buffer) => (body += part.toString('utf8')))
    req.on('end', () => {
      const { model } = JSON.parse(body) as { model: string }
      if (model !== 'wrong-kind' && model !== 'cut') {
        res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":{"message":"down"}}')
        return
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream' })
      const base = { id: 'x', created: 1, model }
      if (model === 'wrong-kind') res.end(sseEvent(JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] })))
      else res.end(sseEvent(JSON.stringify({ ...base, object: 'text_completion', choices: [{ index: 0, text: 'par', finish_reason: null }] })))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

describe('completions through upstreams that fail or lie', () => {
  let coder: StartedRelay
  let front: StartedRelay
  let hostile: Awaited<ReturnType<typeof hostileUpstream>>
  beforeAll(async () => {
    coder = await started({ ...modelEnv, RELAY_MODEL_PATH: coderPath })
    hostile = await hostileUpstream()
    front = await startRelay({
      RELAY_TOKENS: token,
      RELAY_UPSTREAM_URLS: `${hostile.url} tiny-coder|wrong-kind|cut, ${coder.baseUrl}/v1 tiny-coder`,
      RELAY_UPSTREAM_KEYS: `,${token}`,
      RELAY_UPSTREAM_RETRIES: '0',
    })
  }, 60_000)
  afterAll(async () => {
    await front.close()
    await hostile.close()
    await coder.close()
  })

  it('fails over to the next upstream when the first answers 500, as chat does', async () => {
    const answer = await clientOf(front).completions.create({ model: 'tiny-coder', prompt: 'def', max_tokens: 4, temperature: 0 })
    expect(answer.choices[0]?.text.length).toBeGreaterThan(0)
  })

  it('answers 502 for an upstream whose chunks are not text_completion chunks, and an SSE error for a stream cut mid-answer', async () => {
    const { status, json } = await postJson(front, '/v1/completions', { model: 'wrong-kind', prompt: 'x', max_tokens: 4 })
    expect(status).toBe(502)
    expect(json.error?.code).toBe('upstream_error')
    expect(JSON.stringify(json)).not.toContain('chat.completion.chunk')
    const cut = await fetch(`${front.baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'cut', prompt: 'x', max_tokens: 4, stream: true }),
    })
    expect(cut.status).toBe(200)
    const events = await cut.text()
    expect(events).toContain('"text":"par"')
    expect(events).toContain('"code":"upstream_error"')
    expect(events).not.toContain('[DONE]')
  })
})

describe('the swarm gateway’s models by id (no node in the room)', () => {
  let relay: StartedRelay
  beforeAll(async () => {
    relay = await startRelay({ RELAY_TOKENS: token, RELAY_ROOMS: 'lobby#k,team', RELAY_SWARM_SIGNALING_URL: `ws://127.0.0.1:${await closedPort()}/signal`, RELAY_SWARM_WAIT_MS: '200' })
  })
  afterAll(() => relay.close())

  it('retrieves swarm/<room> (the id holds a slash, sent as it is or encoded), 404 naming model for a room it is not in', async () => {
    const client = clientOf(relay)
    expect(await client.models.retrieve('swarm/lobby')).toMatchObject({ id: 'swarm/lobby', object: 'model', owned_by: 'edgeswarm-swarm' })
    const encoded = await fetch(`${relay.baseUrl}/v1/models/swarm%2Fteam`, { headers: { Authorization: `Bearer ${token}` } })
    expect(await encoded.json()).toMatchObject({ id: 'swarm/team' })
    await expect(client.models.retrieve('swarm/elsewhere')).rejects.toMatchObject({ status: 404, param: 'model' })
    const malformed = await fetch(`${relay.baseUrl}/v1/models/%E0%A4%A`, { headers: { Authorization: `Bearer ${token}` } })
    expect(malformed.status).toBe(404)
    expect(await malformed.json()).toMatchObject({ error: { param: 'model', code: 'model_not_found' } })
  })

  it('refuses suffix on swarm models with a 400 naming it (browser nodes run chat tasks), and a field no node honours', async () => {
    for (const [fields, param] of [
      [{ suffix: 'after' }, 'suffix'],
      [{ frequency_penalty: 1 }, 'frequency_penalty'],
      [{ top_k: 5 }, 'top_k'],
    ] as const) {
      const { status, json } = await postJson(relay, '/v1/completions', { model: 'swarm/lobby', prompt: 'Once', max_tokens: 4, ...fields })
      expect(status).toBe(400)
      expect(json.error?.param).toBe(param)
      expect(json.error?.message).toContain('swarm')
    }
  })
})

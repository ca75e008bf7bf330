// Ollama's API on the relay, end to end: the `ollama` client library and plain fetch against
// an in-process relay whose embedded backend runs the tiny generated Qwen3 GGUF.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ollama } from 'ollama'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureFixture } from '../../scripts/gguf/fixture-file'
import { tinyQwen3Thinking } from '../../scripts/gguf/specs'
import { tinyEmbeddingModelId, tinyEmbeddingModelPath, tinyModelId, tinyModelPath } from './backend/tiny-model'
import { startFakeUpstream } from './relay-v1/fake-upstream'
import { requestRecords, startRelay, type StartedRelay } from './relay-v1/start'
import { mulberry32 } from '../../src/shared/hash'

const token = 'ollama-test-token'
const started: StartedRelay[] = []
let relay: StartedRelay

const embeddedEnv = { RELAY_MODEL_PATH: tinyModelPath, RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', RELAY_MODEL_CONCURRENCY: '2', RELAY_MODEL_CONTEXT: '1024' }

beforeAll(async () => {
  relay = await startRelay({ RELAY_TOKENS: token, RELAY_RATE_PER_MIN: '1000', ...embeddedEnv, RELAY_EMBEDDING_MODEL_PATH: tinyEmbeddingModelPath, RELAY_EMBEDDING_CONTEXT: '128' })
  started.push(relay)
  // A first answer waits for the model to load (polling /healthz meanwhile would meet the per-address limit).
  await client().generate({ model: tinyModelId, prompt: 'Hi', stream: false, options: { num_predict: 1 } })
}, 60_000)

afterAll(async () => {
  await Promise.all(started.map((each) => each.close()))
})

const client = (headers: Record<string, string> = { Authorization: `Bearer ${token}` }): Ollama => new Ollama({ host: relay.baseUrl, headers })
const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say hello.' },
]

async function post(path: string, body: unknown, headers: Record<string, string> = { Authorization: `Bearer ${token}` }): Promise<Response> {
  return fetch(`${relay.baseUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

/** The lines of an NDJSON body, each parsed; a line that is not JSON fails the test. */
function ndjsonLines(text: string): Record<string, unknown>[] {
  expect(text.endsWith('\n')).toBe(true)
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const doneFields = ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration'] as const

describe('the ollama client against the relay', () => {
  it('lists the embedded models with their GGUF details', async () => {
    const { models } = await client().list()
    expect(models.map((model) => model.name).sort()).toEqual([tinyEmbeddingModelId, tinyModelId].sort())
    const model = models.find((entry) => entry.name === tinyModelId)
    expect(model).toMatchObject({ name: tinyModelId, model: tinyModelId, digest: '', details: { format: 'gguf', family: 'qwen3' } })
    expect(model?.size).toBeGreaterThan(0)
    expect(model?.details.parameter_size).toMatch(/^\d+(\.\d+)?[KMB]?$/)
    expect(Number.isNaN(Date.parse(String(model?.modified_at)))).toBe(false)
  })

  it('tells its version and shows a model, with its chat template; an unknown one is 404', async () => {
    const version = await client().version()
    expect(version.version).toMatch(/^\d+\.\d+\.\d+$/)
    const shown = await client().show({ model: `${tinyModelId}:latest` })
    expect(shown.template).toContain('<|im_start|>')
    expect(shown.capabilities).toContain('completion')
    expect(shown.parameters).toBe('num_ctx 512')
    expect(shown.details.family).toBe('qwen3')
    const embedder = await client().show({ model: tinyEmbeddingModelId })
    expect(embedder.capabilities).toEqual(['embedding'])
    expect(embedder.details.family).toBe('bert')
    await expect(client().show({ model: 'no-such-model' })).rejects.toMatchObject({ status_code: 404, message: expect.stringContaining('no-such-model') as unknown })
  })

  it('chats without streaming, with the counts and durations of a finished answer', async () => {
    const answer = await client().chat({ model: tinyModelId, messages, stream: false, options: { num_predict: 5, temperature: 0, seed: 1 } })
    expect(answer.done).toBe(true)
    expect(answer.model).toBe(tinyModelId)
    expect(answer.message.role).toBe('assistant')
    expect(answer.message.content.length).toBeGreaterThan(0)
    expect(answer.done_reason).toBe('length')
    expect(answer.eval_count).toBe(5)
    expect(answer.prompt_eval_count).toBeGreaterThan(5)
    expect(answer.total_duration).toBeGreaterThanOrEqual(answer.eval_duration)
    const logged = requestRecords(relay.records).filter((record) => record.path === '/api/chat' && record.status === 200)
    expect(logged.at(-1)).toMatchObject({ model: tinyModelId, backend: 'embedded', stream: false, completionTokens: 5 })
  })

  it('chats streaming: pieces, then one done with its reason', async () => {
    const stream = await client().chat({ model: tinyModelId, messages, stream: true, options: { num_predict: 6, temperature: 0 } })
    const parts = []
    for await (const part of stream) parts.push(part)
    const last = parts.at(-1)
    expect(parts.length).toBeGreaterThan(1)
    expect(parts.slice(0, -1).every((part) => !part.done)).toBe(true)
    expect(last).toMatchObject({ done: true, done_reason: 'length', eval_count: 6, message: { role: 'assistant', content: '' } })
    expect(parts.map((part) => part.message.content).join('').length).toBeGreaterThan(0)
  })

  it('takes tools and a conversation with a call and its result, as Ollama sends them', async () => {
    const tools = [
      { type: 'function', function: { name: 'weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
    ]
    const conversation = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', content: 'sunny, 21 °C', tool_name: 'weather' },
    ]
    const answer = await client().chat({ model: tinyModelId, messages: conversation, tools, stream: false, options: { num_predict: 4 } })
    expect(answer.done).toBe(true)
    expect(answer.prompt_eval_count).toBeGreaterThan(20)
    // A result for a call never made is refused, not passed on as if it answered something.
    const orphan = await post('/api/chat', { model: tinyModelId, messages: [conversation[0], conversation[2]], tools, stream: false })
    expect(orphan.status).toBe(400)
    expect(((await orphan.json()) as { error: string }).error).toContain('messages.1')
  })

  it('answers a format schema with JSON that follows it', async () => {
    const format = { type: 'object', properties: { city: { type: 'string', maxLength: 8 } }, required: ['city'], additionalProperties: false }
    const answer = await client().chat({ model: tinyModelId, messages: [{ role: 'user', content: 'A city?' }], format, stream: false, options: { num_predict: 40 } })
    const parsed = JSON.parse(answer.message.content) as { city?: unknown }
    expect(typeof parsed.city).toBe('string')
  })

  it('generates from a prompt and a system message, streaming and not', async () => {
    const whole = await client().generate({ model: tinyModelId, prompt: 'Once upon a time', system: 'Tell stories.', stream: false, options: { num_predict: 4 } })
    expect(whole).toMatchObject({ model: tinyModelId, done: true, done_reason: 'length', eval_count: 4 })
    expect(whole.response?.length ?? 0).toBeGreaterThan(0)
    const stream = await client().generate({ model: tinyModelId, prompt: 'Once upon a time', stream: true, options: { num_predict: 4 } })
    const parts = []
    for await (const part of stream) parts.push(part)
    expect(parts.at(-1)).toMatchObject({ done: true, response: '' })
  })

  it('puts Qwen3’s thinking in message.thinking, streamed and whole, and none with think: false', async () => {
    const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))
    mkdirSync(fixturesDirectory, { recursive: true })
    const thinker = await startRelay({ ...embeddedEnv, RELAY_MODEL_PATH: ensureFixture(fixturesDirectory, tinyQwen3Thinking).path })
    started.push(thinker)
    const thinking = new Ollama({ host: thinker.baseUrl })
    const ask = { model: 'tiny-qwen3-thinking', messages: [{ role: 'user', content: 'Why?' }], options: { num_predict: 8, seed: 3 } }
    const whole = await thinking.chat({ ...ask, think: true, stream: false })
    expect(whole.message.thinking?.length ?? 0).toBeGreaterThan(0)
    expect(whole.message.content).not.toContain('<think>')
    const parts = []
    for await (const part of await thinking.chat({ ...ask, think: true, stream: true })) parts.push(part)
    expect(parts.map((part) => part.message.thinking ?? '').join('')).toBe(whole.message.thinking)
    const unthinking = await thinking.chat({ ...ask, think: false, stream: false })
    expect(unthinking.message.thinking).toBeUndefined()
  }, 60_000)

  it('continues a raw prompt through the backend’s complete, streaming and not', async () => {
    const whole = await client().generate({ model: tinyModelId, prompt: 'def add(a, b):', raw: true, stream: false, options: { num_predict: 5, top_k: 20, repeat_penalty: 1.1 } })
    expect(whole).toMatchObject({ done: true, done_reason: 'length', eval_count: 5 })
    expect(whole.response?.length ?? 0).toBeGreaterThan(0)
    const parts = []
    for await (const part of await client().generate({ model: tinyModelId, prompt: 'def add(a, b):', raw: true, stream: true, options: { num_predict: 3 } })) parts.push(part)
    expect(parts.at(-1)).toMatchObject({ done: true, eval_count: 3 })
    // Fill-in-the-middle needs the model's infill tokens, which tiny-qwen3 has not: a 400 naming suffix.
    const infill = await post('/api/generate', { model: tinyModelId, prompt: 'def add(a, b):', suffix: '\n    return c', stream: false })
    expect(infill.status).toBe(400)
    expect(((await infill.json()) as { error: string }).error).toContain('suffix')
    const withSystem = await post('/api/generate', { model: tinyModelId, prompt: 'x', raw: true, system: 'no' })
    expect(withSystem.status).toBe(400)
  })

  it('embeds a string and several, and answers the legacy /api/embeddings', async () => {
    const one = await client().embed({ model: tinyEmbeddingModelId, input: 'hello' })
    expect(one.model).toBe(tinyEmbeddingModelId)
    expect(one.embeddings).toHaveLength(1)
    const width = one.embeddings[0]?.length ?? 0
    expect(width).toBeGreaterThan(0)
    const several = await client().embed({ model: tinyEmbeddingModelId, input: ['hello', 'world'] })
    expect(several.embeddings).toHaveLength(2)
    expect(several.embeddings[0]).toEqual(one.embeddings[0])
    expect(several.prompt_eval_count).toBeGreaterThan(0)
    const short = await client().embed({ model: tinyEmbeddingModelId, input: 'hello', dimensions: 8 })
    expect(short.embeddings[0]).toHaveLength(8)
    const legacy = await client().embeddings({ model: tinyEmbeddingModelId, prompt: 'hello' })
    expect(legacy.embedding).toEqual(one.embeddings[0])
    await expect(client().embed({ model: tinyEmbeddingModelId, input: 'hello', dimensions: width + 1 })).rejects.toMatchObject({ status_code: 400 })
    await expect(client().embed({ model: tinyEmbeddingModelId, input: 'hello', truncate: true })).rejects.toMatchObject({ status_code: 400 })
    // The chat model makes no embeddings here.
    await expect(client().embed({ model: tinyModelId, input: 'hello' })).rejects.toMatchObject({ status_code: 501 })
  })

  it('answers a load request (no prompt, no messages) without running the model', async () => {
    const loaded = await client().generate({ model: tinyModelId, prompt: '', stream: false })
    expect(loaded).toMatchObject({ done: true, done_reason: 'load', response: '' })
    const chat = await client().chat({ model: tinyModelId, messages: [], stream: false })
    expect(chat).toMatchObject({ done: true, done_reason: 'load' })
  })
})

describe('a hostile client on /api', () => {
  const seed = Number(process.env.OLLAMA_FUZZ_SEED ?? 15)
  const random = mulberry32(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const junk: readonly unknown[] = [null, 0, -1, 1e308, 'x', '', true, [], {}, [1, 'a'], { a: { b: [] } }, 'json', 'high', 2.5]
  const fields = [
    'model',
    'messages',
    'prompt',
    'suffix',
    'system',
    'raw',
    'format',
    'options',
    'think',
    'tools',
    'stream',
    'images',
    'context',
    'template',
    'keep_alive',
    'input',
    'dimensions',
    'truncate',
  ] as const
  const optionNames = ['temperature', 'top_p', 'top_k', 'seed', 'num_predict', 'stop', 'num_ctx', 'min_p', 'mirostat', 'num_thread', 'repeat_penalty', '__proto__', 'constructor']

  function body(): Record<string, unknown> {
    const base: Record<string, unknown> = { model: pick([tinyModelId, tinyEmbeddingModelId, `${tinyModelId}:latest`, 'nope', 'swarm/room']), stream: random() < 0.5, options: { num_predict: 2 } }
    if (random() < 0.7) base.messages = [{ role: pick(['user', 'system', 'assistant', 'tool', 'bogus']), content: pick(['hi', '', '<think>x</think>', 'x'.repeat(300)]) }]
    if (random() < 0.5) base.prompt = pick(['Once', '', 'def f():'])
    for (let count = Math.floor(random() * 4); count > 0; count--) base[pick(fields)] = pick(junk)
    if (random() < 0.5) base.options = { ...(base.options as object), [pick(optionNames)]: pick(junk) }
    return base
  }

  it(`answers 200 or a 4xx/501 in Ollama's shape to random bodies, never a 500, streams well framed (seed ${seed})`, async () => {
    for (let round = 0; round < 60; round++) {
      const path = pick(['/api/chat', '/api/generate', '/api/embed', '/api/embeddings', '/api/show'])
      const sent = body()
      const response = await post(path, sent)
      const what = `seed ${seed}, round ${round}: ${path} ${JSON.stringify(sent)}`
      expect([200, 400, 404, 501], what).toContain(response.status)
      const text = await response.text()
      if (response.status !== 200) {
        expect(typeof (JSON.parse(text) as { error?: unknown }).error, what).toBe('string')
        continue
      }
      if (response.headers.get('content-type') === 'application/x-ndjson') {
        const last = ndjsonLines(text).at(-1) ?? {}
        expect(last.done === true || typeof last.error === 'string', what).toBe(true)
      } else {
        expect(() => JSON.parse(text) as unknown, what).not.toThrow()
      }
    }
  }, 120_000)
})

describe('NDJSON, errors and limits on /api', () => {
  it('streams by default as newline-delimited JSON, one object a line, done last', async () => {
    const response = await post('/api/chat', { model: tinyModelId, messages, options: { num_predict: 3 } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/x-ndjson')
    const lines = ndjsonLines(await response.text())
    expect(lines.filter((line) => line.done === true)).toHaveLength(1)
    const last = lines.at(-1) ?? {}
    expect(last.done).toBe(true)
    for (const field of doneFields) expect(typeof last[field], field).toBe('number')
    for (const line of lines) expect(Number.isNaN(Date.parse(String(line.created_at)))).toBe(false)
  })

  it('answers 401 in Ollama’s error shape without a token, and with a wrong one', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }]) {
      const response = await post('/api/chat', { model: tinyModelId, messages }, headers)
      expect(response.status).toBe(401)
      const body = (await response.json()) as { error?: unknown }
      expect(typeof body.error).toBe('string')
    }
    await expect(client({}).list()).rejects.toMatchObject({ status_code: 401 })
  })

  it('refuses an option it cannot honour with a 400 that names it', async () => {
    for (const [option, value] of [
      ['num_thread', 8],
      ['penalize_newline', true],
      ['num_predict', 1_000_000],
      ['temperature', 9],
    ] as const) {
      const response = await post('/api/chat', { model: tinyModelId, messages, stream: false, options: { [option]: value } })
      expect(response.status, option).toBe(400)
      const body = (await response.json()) as { error: string }
      expect(body.error).toContain(`options.${option}`)
    }
    const tooLong = await post('/api/generate', { model: tinyModelId, prompt: 'x', stream: false, options: { num_ctx: 1_000_000 } })
    expect(tooLong.status).toBe(400)
    expect(((await tooLong.json()) as { error: string }).error).toContain('options.num_ctx')
  })

  it('refuses images, a template and an old context by name', async () => {
    for (const [path, body, named] of [
      ['/api/chat', { model: tinyModelId, messages: [{ role: 'user', content: 'see', images: ['aGk='] }] }, 'images'],
      ['/api/generate', { model: tinyModelId, prompt: 'see', images: ['aGk='] }, 'images'],
      ['/api/generate', { model: tinyModelId, prompt: 'x', template: '{{ .Prompt }}' }, 'template'],
      ['/api/generate', { model: tinyModelId, prompt: 'x', context: [1, 2, 3] }, 'context'],
    ] as const) {
      const response = await post(path, body)
      expect(response.status, named).toBe(400)
      expect(((await response.json()) as { error: string }).error).toContain(named)
    }
  })

  it('answers an unknown /api path with a JSON 404 and a wrong method with 405', async () => {
    const unknown = await fetch(`${relay.baseUrl}/api/ps`, { headers: { Authorization: `Bearer ${token}` } })
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: string }).error).toContain('/api/tags')
    const wrongMethod = await fetch(`${relay.baseUrl}/api/chat`, { headers: { Authorization: `Bearer ${token}` } })
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers.get('allow')).toBe('POST')
  })

  it('ends a stream the backend breaks with a last error line, and no done', async () => {
    const upstream = await startFakeUpstream(5)
    const broken = await startRelay({ RELAY_UPSTREAM_URL: upstream.url, RELAY_UPSTREAM_RETRIES: '0' })
    started.push(broken)
    try {
      const response = await fetch(`${broken.baseUrl}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'broken', messages, options: { num_predict: 50 } }) })
      expect(response.status).toBe(200)
      const lines = ndjsonLines(await response.text())
      expect(lines.length).toBeGreaterThan(1)
      expect(lines.at(-1)).toEqual({ error: expect.any(String) as unknown })
      expect(lines.some((line) => line.done === true)).toBe(false)
      // The client library turns that line into an error.
      const parts = await new Ollama({ host: broken.baseUrl }).chat({ model: 'broken', messages, stream: true })
      await expect(
        (async () => {
          for await (const _ of parts) continue
        })(),
      ).rejects.toThrow()
    } finally {
      await upstream.close()
    }
  })

  it('speaks Ollama over the upstream backend too (a relay in front of this one): list, chat, embed', async () => {
    const front = await startRelay({ RELAY_UPSTREAM_URL: `${relay.baseUrl}/v1`, RELAY_UPSTREAM_KEY: token })
    started.push(front)
    const ollama = new Ollama({ host: front.baseUrl })
    const { models } = await ollama.list()
    // What a model another server runs is made of, the relay does not know: empty, not guessed.
    expect(models.map((model) => model.name).sort()).toEqual([tinyEmbeddingModelId, tinyModelId].sort())
    expect(models.find((model) => model.name === tinyModelId)).toMatchObject({ size: 0, digest: '', details: { format: '', family: '' } })
    const embedded = await ollama.embed({ model: tinyEmbeddingModelId, input: ['hello', 'world'] })
    expect(embedded.embeddings).toHaveLength(2)
    const parts = []
    for await (const part of await ollama.chat({ model: `${tinyModelId}:latest`, messages, stream: true, options: { num_predict: 3 } })) parts.push(part)
    expect(parts.at(-1)).toMatchObject({ done: true, model: `${tinyModelId}:latest`, eval_count: 3 })
  })

  it('holds /api to the day’s token budget and the body cap as /v1', async () => {
    const budgeted = await startRelay({ RELAY_DAILY_TOKENS: '64', RELAY_MAX_BODY_BYTES: '4096', ...embeddedEnv })
    started.push(budgeted)
    const response = await fetch(`${budgeted.baseUrl}/api/chat`, { method: 'POST', body: JSON.stringify({ model: tinyModelId, messages, options: { num_predict: 100 } }) })
    expect(response.status).toBe(429)
    expect(typeof ((await response.json()) as { error?: unknown }).error).toBe('string')
    const large = await fetch(`${budgeted.baseUrl}/api/chat`, { method: 'POST', body: JSON.stringify({ model: tinyModelId, messages: [{ role: 'user', content: 'x'.repeat(8192) }] }) })
    expect(large.status).toBe(413)
    expect(((await large.json()) as { error: string }).error).toContain('RELAY_MAX_BODY_BYTES')
  })
})

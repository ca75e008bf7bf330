// POST /v1/embeddings on a real relay, through the official openai client and raw HTTP: the
// relay's embedding model (the tiny bert GGUF, node-llama-cpp), float and base64 answers,
// `dimensions`, the 400s that name their field, the chat model's 501, and an upstream's
// embeddings passed through (the fake upstream), its broken answers refused with a 502.
import OpenAI, { APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { unitLength, vectorFromBase64 } from '../../src/shared/embeddings'
import { tinyEmbeddingModelId, tinyEmbeddingModelPath, tinyModelId, tinyModelPath } from './backend/tiny-model'
import { fakeEmbeddingModels, fakeVectorOf, startFakeUpstream, type FakeUpstream } from './relay-v1/fake-upstream'
import { requestRecords, startRelay, waitForBackendReady, type StartedRelay } from './relay-v1/start'

const texts = ['the sea at night', 'a memory of rain']

let relay: StartedRelay
let upstream: FakeUpstream
let client: OpenAI

const post = (body: unknown): Promise<Response> => fetch(`${relay.baseUrl}/v1/embeddings`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })

async function refusal(body: unknown): Promise<{ status: number; param: unknown; code: unknown }> {
  const response = await post(body)
  const { error } = (await response.json()) as { error: { param: unknown; code: unknown } }
  return { status: response.status, param: error.param, code: error.code }
}

beforeAll(async () => {
  upstream = await startFakeUpstream(1, fakeEmbeddingModels)
  relay = await startRelay({
    RELAY_MODEL_PATH: tinyModelPath,
    RELAY_MODEL_CONTEXT: '1024',
    RELAY_EMBEDDING_MODEL_PATH: tinyEmbeddingModelPath,
    RELAY_MODEL_THREADS: '1',
    RELAY_MODEL_GPU: 'off',
    RELAY_UPSTREAM_URL: upstream.url,
    RELAY_UPSTREAM_BREAKER_FAILURES: '1000',
  })
  await waitForBackendReady(relay)
  client = new OpenAI({ baseURL: `${relay.baseUrl}/v1`, apiKey: 'none', maxRetries: 0, timeout: 30_000 })
}, 60_000)

afterAll(async () => {
  await relay.close()
  await upstream.close()
})

describe('POST /v1/embeddings on the relay’s embedding model', () => {
  it('is listed in /v1/models beside the chat model', async () => {
    const ids = (await client.models.list()).data.map((model) => model.id)
    expect(ids).toEqual(expect.arrayContaining([tinyModelId, tinyEmbeddingModelId]))
  })

  it('answers the openai client with floats: one unit vector per text, in order, and the usage', async () => {
    const answer = await client.embeddings.create({ model: tinyEmbeddingModelId, input: texts, encoding_format: 'float' })
    expect(answer.object).toBe('list')
    expect(answer.model).toBe(tinyEmbeddingModelId)
    expect(answer.data.map((item) => [item.object, item.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ])
    for (const item of answer.data) expect(Math.hypot(...item.embedding)).toBeCloseTo(1, 4)
    expect(answer.usage.prompt_tokens).toBeGreaterThan(0)
    expect(answer.usage.total_tokens).toBe(answer.usage.prompt_tokens)
    const record = requestRecords(relay.records).at(-1)
    expect(record).toMatchObject({ path: '/v1/embeddings', status: 200, backend: 'embedded', promptTokens: answer.usage.prompt_tokens, completionTokens: 0 })
  })

  it('answers the openai client’s default (base64, which it decodes) with the same vectors as floats', async () => {
    const floats = await client.embeddings.create({ model: tinyEmbeddingModelId, input: texts, encoding_format: 'float' })
    const byDefault = await client.embeddings.create({ model: tinyEmbeddingModelId, input: texts })
    byDefault.data.forEach((item, index) => expect(item.embedding).toEqual(Array.from(new Float32Array(floats.data[index]?.embedding ?? []))))
  })

  it('sends base64 as little-endian float32', async () => {
    const floats = (await (await post({ model: tinyEmbeddingModelId, input: 'one text' })).json()) as { data: { embedding: number[] }[] }
    const base64 = (await (await post({ model: tinyEmbeddingModelId, input: 'one text', encoding_format: 'base64' })).json()) as { data: { embedding: string }[] }
    const decoded = vectorFromBase64(base64.data[0]?.embedding ?? '')
    expect(decoded).toEqual(Array.from(new Float32Array(floats.data[0]?.embedding ?? [])))
  })

  it('shortens to `dimensions` at unit length, and refuses more than the model makes', async () => {
    const full = await client.embeddings.create({ model: tinyEmbeddingModelId, input: 'shorter', encoding_format: 'float' })
    const short = await client.embeddings.create({ model: tinyEmbeddingModelId, input: 'shorter', encoding_format: 'float', dimensions: 16 })
    const vector = short.data[0]?.embedding ?? []
    expect(vector).toHaveLength(16)
    unitLength((full.data[0]?.embedding ?? []).slice(0, 16)).forEach((value, index) => expect(vector[index]).toBeCloseTo(value, 6))
    const width = full.data[0]?.embedding.length ?? 0
    expect(await refusal({ model: tinyEmbeddingModelId, input: 'x', dimensions: width + 1 })).toMatchObject({ status: 400, param: 'dimensions' })
  })

  it('refuses with a 400 naming the field: token arrays, empty input, an empty text, too many texts, an unknown encoding', async () => {
    expect(await refusal({ model: tinyEmbeddingModelId, input: [1, 2, 3] })).toMatchObject({ status: 400, param: 'input', code: 'token_input_unsupported' })
    expect(await refusal({ model: tinyEmbeddingModelId, input: [[1, 2], [3]] })).toMatchObject({ status: 400, param: 'input', code: 'token_input_unsupported' })
    expect(await refusal({ model: tinyEmbeddingModelId, input: [] })).toMatchObject({ status: 400, param: 'input' })
    expect(await refusal({ model: tinyEmbeddingModelId, input: '' })).toMatchObject({ status: 400, param: 'input' })
    expect(await refusal({ model: tinyEmbeddingModelId, input: Array.from({ length: 2049 }, () => 'x') })).toMatchObject({ status: 400, param: 'input' })
    expect(await refusal({ model: tinyEmbeddingModelId, input: 'x', encoding_format: 'int8' })).toMatchObject({ status: 400, param: 'encoding_format' })
    expect(await refusal({ input: 'x' })).toMatchObject({ status: 400, param: 'model' })
  })

  it('refuses a text longer than the model’s window with a 400 naming input', async () => {
    expect(await refusal({ model: tinyEmbeddingModelId, input: ['short', 'memory '.repeat(600)] })).toMatchObject({ status: 400, param: 'input', code: 'input_too_long' })
  })

  it('answers 501 for the chat model, and the embedding model answers no chat', async () => {
    expect(await refusal({ model: tinyModelId, input: 'x' })).toMatchObject({ status: 501, param: 'model', code: 'embeddings_unsupported' })
    const chat = await client.chat.completions.create({ model: tinyEmbeddingModelId, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error)
    expect(chat).toBeInstanceOf(APIError)
    expect((chat as APIError).status).toBe(400)
    expect((chat as APIError).code).toBe('model_not_chat')
  })
})

describe('POST /v1/embeddings passed through to an upstream', () => {
  it('gives the upstream’s vectors as it made them, in input order (it sent them out of order), with its usage', async () => {
    const answer = await client.embeddings.create({ model: 'embeds', input: texts, encoding_format: 'float' })
    expect(answer.data.map((item) => item.embedding)).toEqual(texts.map(fakeVectorOf))
    expect(answer.usage.prompt_tokens).toBe(texts.length * 3)
    expect(answer.model).toBe('embeds')
  })

  it('refuses an upstream answer with a vector missing, vectors of two widths, or a null in one: 502, never the broken vectors', async () => {
    for (const model of ['embeds-short', 'embeds-ragged', 'embeds-null']) {
      const response = await post({ model, input: texts })
      expect(response.status, model).toBe(502)
      expect(JSON.stringify(await response.json())).not.toContain('embedding"')
    }
  })
})

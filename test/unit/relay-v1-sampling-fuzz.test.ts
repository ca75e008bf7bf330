// /v1/completions and /v1/chat/completions against a fuzzer aimed at the sampling fields: a relay
// whose embedded backend runs the tiny GGUF gets random bodies whose penalties, top_k, min_p,
// logit_bias (token ids past the vocabulary, huge biases), logprobs, n, echo, suffix and prompt
// take values in range, out of it and of the wrong type. Every answer is a 200 or a 4xx in
// OpenAI's error shape naming a field (these values reach llama.cpp's sampler, and nothing it
// refuses may fail the relay); after, the relay still answers. Seeded: a failure prints its seed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tinyModelId } from './backend/tiny-model'
import { createRandom, type Random } from './relay-fuzz/random'
import { startTinyModelRelay, type StartedRelay } from './relay-v1/start'

const seed = Number(process.env.RELAY_V1_SAMPLING_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const bodies = Number(process.env.RELAY_V1_SAMPLING_FUZZ_BODIES ?? 200)
const maxTokens = 8
const replay = `RELAY_V1_SAMPLING_FUZZ_SEED=${seed} npx vitest run test/unit/relay-v1-sampling-fuzz.test.ts`

/** A value for `field`: in range most of the time, else an edge or the wrong type. */
function valueOf(random: Random, field: string): unknown {
  if (random.chance(0.15)) return random.json(2)
  switch (field) {
    case 'frequency_penalty':
    case 'presence_penalty':
      return random.pick([0, 0.5, 2, -2, 2.5, -1e9])
    case 'repeat_penalty':
      return random.pick([1, 1.3, 0, 10, 11, -1])
    case 'top_k':
      return random.pick([0, -1, 1, 40, 1e9, -2, 1.5])
    case 'min_p':
      return random.pick([0, 0.05, 1, 1.5, -0.1])
    case 'logit_bias':
      return Object.fromEntries(
        Array.from({ length: random.int(4) }, () => [random.pick(['0', '5', String(random.int(600)), '999999999', '-1', 'x', '1e3']), random.pick([100, -100, 5, 101, -1e9, 0.5])]),
      )
    case 'logprobs':
      return random.pick([true, false, 0, 1, 5, 6])
    case 'top_logprobs':
      return random.pick([0, 2, 20, 21])
    case 'n':
    case 'best_of':
      return random.pick([1, 2, 0])
    case 'echo':
      return random.chance(0.5)
    case 'suffix':
      return random.pick(['', 'after', random.text(8)])
    case 'seed':
      return random.pick([0, 7, -1, 2 ** 53, 1.5])
    default:
      return random.pick([1, 'x', true])
  }
}

const fields = ['frequency_penalty', 'presence_penalty', 'repeat_penalty', 'top_k', 'min_p', 'logit_bias', 'logprobs', 'top_logprobs', 'n', 'best_of', 'echo', 'suffix', 'seed', 'mirostat', 'user']

function randomBody(random: Random): { path: string; body: Record<string, unknown> } {
  const chat = random.chance(0.4)
  const body: Record<string, unknown> = { model: tinyModelId, max_tokens: 1 + random.int(maxTokens), temperature: random.pick([0, 0.7, 1.5]), stream: random.chance(0.4) }
  if (chat) body.messages = [{ role: 'user', content: random.text(1 + random.int(20)) }]
  else body.prompt = random.pick([random.text(1 + random.int(20)), [random.text(5)], [1, 2], ['a', 'b'], ''])
  for (let count = random.int(4); count > 0; count--) {
    const field = random.pick(fields)
    body[field] = valueOf(random, field)
  }
  return { path: chat ? '/v1/chat/completions' : '/v1/completions', body }
}

describe('/v1 under fuzzing of the sampling fields', () => {
  let relay: StartedRelay
  beforeAll(async () => {
    relay = await startTinyModelRelay({ contextSize: 1024, maxTokens })
  }, 60_000)
  afterAll(() => relay.close())

  it('answers every random body with a 200 or a 400 naming a field, and keeps serving', async () => {
    const random = createRandom(seed)
    const statuses = new Map<number, number>()
    for (let index = 0; index < bodies; index++) {
      const { path, body } = randomBody(random)
      const sent = JSON.stringify(body)
      const context = `body ${index} of seed ${seed} (replay: ${replay}): ${path} ${sent.slice(0, 400)}`
      const response = await fetch(`${relay.baseUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: sent })
      const text = await response.text()
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      const failed = relay.records.filter((record) => record.msg === 'v1 request failed').at(-1)
      expect([200, 400], `${context}\nanswered ${response.status}: ${text.slice(0, 300)}; the relay logged ${JSON.stringify(failed)}`).toContain(response.status)
      if (response.status === 400) {
        const error = (JSON.parse(text) as { error: { param: unknown; message: string } }).error
        expect(typeof error.param === 'string' || error.message.includes('JSON'), `${context}: ${text}`).toBe(true)
      } else {
        expect(text, context).not.toContain('"error"')
      }
    }
    expect(statuses.get(200) ?? 0, `seed ${seed}: ${JSON.stringify([...statuses])}`).toBeGreaterThan(bodies / 10)
    const plain = await fetch(`${relay.baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: tinyModelId, prompt: 'hi', max_tokens: 2 }),
    })
    expect(plain.status).toBe(200)
  }, 240_000)
})

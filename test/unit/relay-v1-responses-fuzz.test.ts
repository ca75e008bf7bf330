// /v1/responses against a fuzzer (relay-fuzz/responses-bodies.ts): a relay whose embedded backend
// runs the tiny GGUF gets random Responses bodies, streamed and not. Every answer is a 200 or a
// 4xx in OpenAI's error shape, never a 5xx; a 200 is a response object, or a stream of events
// numbered from 0 that ends in response.completed or response.incomplete, its calls well formed.
// After, the relay still answers. Seeded: a failure prints its seed and the command that replays it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tinyModelId } from './backend/tiny-model'
import { createRandom } from './relay-fuzz/random'
import { randomResponsesBody } from './relay-fuzz/responses-bodies'
import { startTinyModelRelay, type StartedRelay } from './relay-v1/start'

const seed = Number(process.env.RELAY_V1_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const bodies = Number(process.env.RELAY_V1_FUZZ_BODIES ?? 200)
const maxTokens = 24
const replay = `RELAY_V1_FUZZ_SEED=${seed} npx vitest run test/unit/relay-v1-responses-fuzz.test.ts`

interface Item {
  type: string
  name?: string
  arguments?: string
}

/** The events of a streamed answer, in order. */
function eventsOf(text: string): { type: string; sequence_number: number; response?: { output: Item[] } }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as { type: string; sequence_number: number; response?: { output: Item[] } })
}

function expectWellFormed(output: readonly Item[], context: string): void {
  for (const item of output) {
    expect(['reasoning', 'message', 'function_call'], context).toContain(item.type)
    if (item.type !== 'function_call') continue
    expect(item.name, context).toMatch(/^[A-Za-z0-9_.-]{1,64}$/)
    const args: unknown = JSON.parse(item.arguments ?? '')
    expect(typeof args === 'object' && args !== null && !Array.isArray(args), context).toBe(true)
  }
}

describe('/v1/responses under fuzzing', () => {
  let relay: StartedRelay
  beforeAll(async () => {
    relay = await startTinyModelRelay({ contextSize: 2048, maxTokens, readyMs: 60_000 })
  }, 90_000)
  afterAll(() => relay.close())

  it('answers every random body with a 200 or a 4xx in the error shape, and keeps serving', async () => {
    const random = createRandom(seed)
    const statuses = new Map<number, number>()
    for (let index = 0; index < bodies; index++) {
      const body = randomResponsesBody(random, tinyModelId, maxTokens)
      const sent = JSON.stringify(body)
      const context = `body ${index} of seed ${seed} (replay: ${replay}): ${sent.slice(0, 600)}`
      const response = await fetch(`${relay.baseUrl}/v1/responses`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: sent })
      const text = await response.text()
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      expect([200, 400, 404], `${context}\nanswered ${response.status}: ${text.slice(0, 300)}`).toContain(response.status)
      if (response.status !== 200) {
        const error = (JSON.parse(text) as { error: Record<string, unknown> }).error
        expect(Object.keys(error).sort(), context).toEqual(['code', 'message', 'param', 'type'])
        continue
      }
      if (body.stream === true) {
        const events = eventsOf(text)
        expect(
          events.map((event) => event.sequence_number),
          context,
        ).toEqual(events.map((_event, at) => at))
        expect(['response.completed', 'response.incomplete'], context).toContain(events.at(-1)?.type)
        expectWellFormed(events.at(-1)?.response?.output ?? [], context)
      } else {
        const answer = JSON.parse(text) as { object: string; output: Item[] }
        expect(answer.object, context).toBe('response')
        expectWellFormed(answer.output, context)
      }
    }
    // The mix reached the model, not only the validator (most random bodies are invalid: 5–10 % of them pass).
    expect(statuses.get(200) ?? 0, `seed ${seed}: ${JSON.stringify([...statuses])}`).toBeGreaterThanOrEqual(bodies / 50)
    const plain = await fetch(`${relay.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: tinyModelId, input: 'hi', max_output_tokens: 2 }),
    })
    expect(plain.status).toBe(200)
  }, 240_000)
})

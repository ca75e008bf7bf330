// /v1 against a fuzzer aimed at the tool and structured-output fields: a relay whose embedded
// backend runs the tiny GGUF gets hundreds of random chat bodies (relay-fuzz/chat-bodies.ts),
// streamed and not. Every answer is a 200 or a 4xx in OpenAI's error shape (never a 5xx: the
// fields reach node-llama-cpp's grammar builder, and nothing it refuses may fail the relay);
// a 200 that made calls carries well-formed ones. After, the relay still answers a plain
// request. Seeded: a failure prints its seed and the command that replays it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRandom } from './relay-fuzz/random'
import { randomChatBody } from './relay-fuzz/chat-bodies'
import { tinyModelId } from './backend/tiny-model'
import { startTinyModelRelay, type StartedRelay } from './relay-v1/start'

const seed = Number(process.env.RELAY_V1_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const bodies = Number(process.env.RELAY_V1_FUZZ_BODIES ?? 300)
const maxTokens = 24
const replay = `RELAY_V1_FUZZ_SEED=${seed} npx vitest run test/unit/relay-v1-fuzz.test.ts`

interface Answer {
  status: number
  text: string
}

/** A 200's calls, from a completion or a stream's deltas: each with a name and JSON-object arguments. */
function callsOf(answer: Answer, streamed: boolean): { name: string; arguments: string }[] {
  if (!streamed) {
    const completion = JSON.parse(answer.text) as { choices: { finish_reason: string; message: { tool_calls?: { function: { name: string; arguments: string } }[] } }[] }
    const choice = completion.choices[0]
    if (choice?.finish_reason !== 'tool_calls') return []
    return (choice.message.tool_calls ?? []).map((call) => call.function)
  }
  const calls: { name: string; arguments: string }[] = []
  for (const line of answer.text.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
    const chunk = JSON.parse(line.slice(6)) as { choices?: { delta: { tool_calls?: { index: number; function?: { name?: string; arguments?: string } }[] } }[] }
    for (const delta of chunk.choices?.[0]?.delta.tool_calls ?? []) {
      const call = (calls[delta.index] ??= { name: '', arguments: '' })
      call.name += delta.function?.name ?? ''
      call.arguments += delta.function?.arguments ?? ''
    }
  }
  return calls
}

describe('/v1 under fuzzing of the tool and structured-output fields', () => {
  let relay: StartedRelay
  beforeAll(async () => {
    relay = await startTinyModelRelay({ contextSize: 2048, maxTokens })
  }, 60_000)
  afterAll(() => relay.close())

  it('answers every random body with a 200 or a 4xx in the error shape, and keeps serving', async () => {
    const random = createRandom(seed)
    const statuses = new Map<number, number>()
    for (let index = 0; index < bodies; index++) {
      const body = randomChatBody(random, tinyModelId, maxTokens)
      const sent = JSON.stringify(body)
      const context = `body ${index} of seed ${seed} (replay: ${replay}): ${sent.slice(0, 600)}`
      const response = await fetch(`${relay.baseUrl}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: sent })
      const answer: Answer = { status: response.status, text: await response.text() }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
      expect([200, 400, 404], `${context}\nanswered ${answer.status}: ${answer.text.slice(0, 300)}`).toContain(answer.status)
      if (answer.status !== 200) {
        const error = (JSON.parse(answer.text) as { error: Record<string, unknown> }).error
        expect(Object.keys(error).sort(), context).toEqual(['code', 'message', 'param', 'type'])
        continue
      }
      expect(answer.text, context).not.toContain('"error"')
      for (const call of callsOf(answer, body.stream === true)) {
        expect(call.name, context).toMatch(/^[A-Za-z0-9_.-]{1,64}$/)
        const args: unknown = JSON.parse(call.arguments)
        expect(typeof args === 'object' && args !== null && !Array.isArray(args), context).toBe(true)
      }
    }
    // The mix reached the model, not only the validator.
    expect(statuses.get(200) ?? 0, `seed ${seed}: ${JSON.stringify([...statuses])}`).toBeGreaterThan(bodies / 20)
    const plain = await fetch(`${relay.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: tinyModelId, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    })
    expect(plain.status).toBe(200)
  }, 240_000)
})

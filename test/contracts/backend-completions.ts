// The backend suite's cases for what /v1 offers past chat, through the relay's own /v1 over the
// backend (createV1Api, ./v1-server.ts) and the official `openai` client: GET /v1/models/{id},
// POST /v1/completions (whole and streamed, echo, max_tokens, stop, suffix), and every sampling
// field either honoured (its effect seen on the answer) or refused with a 400 naming it.
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildVocab } from '../../scripts/gguf/vocab'
import { tinyQwen3 } from '../../scripts/gguf/specs'
import type { Backend } from '../../src/relay/v1/backend'
import { AbortError } from '../../src/shared/errors'
import type { TextCompletionChunk } from '../../src/shared/openai'
import { samplingFields, type GenerationKind, type SamplingField } from '../../src/relay/v1/sampling'
import { v1Server, type V1Server } from './v1-server'

export interface CompletionCaseOptions {
  /** Whether the backend's model fills in the middle (`suffix`); else a 400 naming suffix. */
  infill: boolean
}

/** The tiny model's token for " the": a bias of 100 makes the answer all of it. */
const theToken = buildVocab(tinyQwen3.model.mergeCount).tokens.indexOf('Ġthe')

/** What each field does when honoured, seen against the greedy answer (temperature 0). */
type Effect = { value: unknown; temperature: number; effect: 'greedy' | 'differs' | 'says the' }
const effects: Readonly<Record<SamplingField, Effect>> = {
  // Only the likeliest token is left: a hot sampler answers as the greedy one does.
  top_k: { value: 1, temperature: 1.5, effect: 'greedy' },
  min_p: { value: 1, temperature: 1.5, effect: 'greedy' },
  // The tiny model's greedy answer repeats a token: a strong penalty changes it.
  frequency_penalty: { value: 2, temperature: 0, effect: 'differs' },
  presence_penalty: { value: 2, temperature: 0, effect: 'differs' },
  repeat_penalty: { value: 3, temperature: 0, effect: 'differs' },
  logit_bias: { value: { [String(theToken)]: 100 }, temperature: 0, effect: 'says the' },
  logprobs: { value: true, temperature: 0, effect: 'differs' },
  top_logprobs: { value: 2, temperature: 0, effect: 'differs' },
}

/** The fields of each kind, with their value as that kind spells it. */
const fieldsOf = (kind: GenerationKind): { field: SamplingField; effect: Effect }[] =>
  samplingFields
    // A text completion has no top_logprobs; its logprobs is a count.
    .filter((field) => kind === 'chat' || field !== 'top_logprobs')
    .map((field) => ({ field, effect: kind === 'completion' && field === 'logprobs' ? { ...effects.logprobs, value: 1 } : effects[field] }))

interface Posted {
  status: number
  text: string
  error?: { param: string | null; code: string | null; message: string }
}

export function runCompletionCases(the: () => { backend: Backend; model: string }, options: CompletionCaseOptions): void {
  let server: V1Server | undefined
  const api = (): V1Server => {
    if (server === undefined) throw new Error('the /v1 server did not start')
    return server
  }
  beforeAll(async () => {
    server = await v1Server(the().backend)
  })
  afterAll(async () => {
    await server?.close()
  })

  const prompt = 'Once upon a time, by the sea,'
  const completion = (fields: Partial<OpenAI.CompletionCreateParamsNonStreaming> = {}): Promise<OpenAI.Completion> =>
    api().client.completions.create({ model: the().model, prompt, max_tokens: 8, temperature: 0, seed: 7, ...fields })

  /** POSTs `body` (with fields the client's types do not have) to `kind`'s endpoint, at the suite's model. */
  async function post(kind: GenerationKind, fields: Record<string, unknown>): Promise<Posted> {
    const body =
      kind === 'chat'
        ? { model: the().model, messages: [{ role: 'user', content: 'Tell a story about the sea.' }], max_tokens: 10, seed: 7, ...fields }
        : { model: the().model, prompt, max_tokens: 10, seed: 7, ...fields }
    const response = await fetch(`${api().baseUrl}/${kind === 'chat' ? 'chat/completions' : 'completions'}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
    const json = (await response.json()) as { choices?: [{ text?: string; message?: { content: string | null } }]; error?: Posted['error'] }
    const choice = json.choices?.[0]
    return { status: response.status, text: choice?.text ?? choice?.message?.content ?? '', ...(json.error === undefined ? {} : { error: json.error }) }
  }

  it('GET /v1/models/{id} answers the model object (models.retrieve); an id nobody lists is a 404 naming model', async () => {
    const { model } = the()
    const retrieved = await api().client.models.retrieve(model)
    expect(retrieved).toMatchObject({ id: model, object: 'model' })
    expect([typeof retrieved.created, typeof retrieved.owned_by]).toEqual(['number', 'string'])
    const missing = await api()
      .client.models.retrieve(`${model}-that-is-not-here`)
      .catch((error: unknown) => error)
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError)
    expect(missing).toMatchObject({ status: 404, param: 'model', code: 'model_not_found' })
  })

  it('completes a prompt, not streamed: one text_completion with text, a finish reason and usage within max_tokens', async () => {
    const answer = await completion({ max_tokens: 6 })
    expect(answer).toMatchObject({ object: 'text_completion', model: the().model })
    expect(answer.choices).toHaveLength(1)
    expect(answer.choices[0]?.text.length).toBeGreaterThan(0)
    expect(['stop', 'length']).toContain(answer.choices[0]?.finish_reason)
    expect(answer.usage?.prompt_tokens).toBeGreaterThan(0)
    expect(answer.usage?.completion_tokens).toBeGreaterThan(0)
    expect(answer.usage?.completion_tokens).toBeLessThanOrEqual(6)
    expect(answer.usage?.total_tokens).toBe((answer.usage?.prompt_tokens ?? 0) + (answer.usage?.completion_tokens ?? 0))
  })

  it('streams a completion: text_completion chunks, one finish reason, then the usage chunk (include_usage), the same text as unstreamed', async () => {
    const stream = await api().client.completions.create({ model: the().model, prompt, max_tokens: 8, temperature: 0, seed: 7, stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.Completion[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.length).toBeGreaterThan(2)
    for (const chunk of chunks) expect(chunk).toMatchObject({ object: 'text_completion', id: chunks[0]?.id })
    // A streamed chunk's finish_reason is null until the last (the SDK's type says otherwise).
    const finishes = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason as string | null)).filter((reason) => reason !== null)
    expect(finishes).toHaveLength(1)
    const last = chunks.at(-1)
    expect(last?.choices).toEqual([])
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0)
    expect(last?.usage?.completion_tokens).toBeLessThanOrEqual(8)
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage == null)).toBe(true)
    const text = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.text)).join('')
    expect(text).toBe((await completion()).choices[0]?.text)
  })

  it('echo leads with the prompt, streamed and not; a prompt as an array of one string is the same prompt', async () => {
    const plain = (await completion()).choices[0]?.text ?? ''
    expect((await completion({ echo: true })).choices[0]?.text).toBe(`${prompt}${plain}`)
    expect((await completion({ prompt: [prompt] })).choices[0]?.text).toBe(plain)
    const stream = await api().client.completions.create({ model: the().model, prompt, max_tokens: 8, temperature: 0, seed: 7, echo: true, stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices.map((choice) => choice.text).join('')
    expect(text).toBe(`${prompt}${plain}`)
  })

  it('honours stop on completions: the text ends before the stop sequence, which never shows', async () => {
    const free = (await completion({ max_tokens: 24 })).choices[0]?.text ?? ''
    const middle = Math.floor(free.length / 2)
    const probe = free.slice(middle, middle + 1)
    expect(probe, 'the model produced text to stop on').not.toBe('')
    const stopped = await completion({ max_tokens: 24, stop: [probe] })
    expect(stopped.choices[0]?.text).toBe(free.slice(0, free.indexOf(probe)))
    expect(stopped.choices[0]?.finish_reason).toBe('stop')
  })

  it('stops a completion when the signal aborts: the stream ends at once (quietly or with AbortError), nothing stays active, the next one works', async () => {
    const { backend, model } = the()
    const complete = backend.complete?.bind(backend)
    if (complete === undefined) throw new Error(`the ${backend.name} backend has no complete()`)
    const controller = new AbortController()
    const chunks: TextCompletionChunk[] = []
    let error: unknown
    try {
      for await (const chunk of complete({ model, prompt, max_tokens: 400, temperature: 0, stop: [] }, controller.signal)) {
        chunks.push(chunk)
        if (chunks.filter((each) => each.choices.some((choice) => choice.text !== '')).length === 2) controller.abort()
      }
    } catch (caught) {
      error = caught
    }
    if (error !== undefined) expect(error).toBeInstanceOf(AbortError)
    expect(chunks.flatMap((chunk) => chunk.choices.filter((choice) => choice.finish_reason !== null))).toEqual([])
    expect(chunks.length).toBeLessThan(40)
    await expect.poll(() => backend.state(), { timeout: 15_000 }).toMatchObject({ state: 'ready', active: 0 })
    expect((await completion({ max_tokens: 3 })).choices[0]?.finish_reason).toBeDefined()
  })

  it(options.infill ? 'fills in the middle with suffix' : 'refuses suffix with a 400 naming it: the model cannot fill in the middle', async () => {
    const answer = completion({ suffix: ' and they lived happily ever after.' })
    if (options.infill) {
      const filled = await answer
      expect(filled.choices[0]?.text.length).toBeGreaterThan(0)
      expect(filled.choices[0]?.text).not.toBe((await completion()).choices[0]?.text)
      return
    }
    const refused = await answer.catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError)
    expect(refused).toMatchObject({ status: 400, param: 'suffix' })
  })

  describe.each(['chat', 'completion'] as const)('sampling fields on %s', (kind) => {
    const greedy: { text: string | null } = { text: null }
    const greedyText = async (): Promise<string> => {
      greedy.text ??= (await post(kind, { temperature: 0 })).text
      return greedy.text
    }

    it.each(fieldsOf(kind))('$field: honoured (its effect on the answer), or a 400 naming it', async ({ field, effect }) => {
      const posted = await post(kind, { temperature: effect.temperature, [field]: effect.value })
      if (!(the().backend.sampling?.[kind] ?? []).includes(field)) {
        expect(posted.status, posted.text).toBe(400)
        expect(posted.error?.param).toBe(field)
        expect(posted.error?.message).toContain(field)
        return
      }
      expect(posted.status, JSON.stringify(posted.error)).toBe(200)
      const baseline = await greedyText()
      expect(baseline.length).toBeGreaterThan(0)
      if (effect.effect === 'greedy') expect(posted.text).toBe(baseline)
      else if (effect.effect === 'differs') expect(posted.text).not.toBe(baseline)
      else expect(posted.text).toContain(' the the')
    })

    it('takes a field at the value that asks for nothing, and user (metadata), on every backend', async () => {
      const posted = await post(kind, { temperature: 0, frequency_penalty: 0, presence_penalty: 0, logit_bias: {}, n: 1, user: 'suite', ...(kind === 'chat' ? { logprobs: false } : { echo: false }) })
      expect(posted.status, JSON.stringify(posted.error)).toBe(200)
      expect(posted.text).toBe(await greedyText())
    })

    it('refuses n > 1 (and best_of > 1) with a 400 naming it', async () => {
      for (const field of kind === 'chat' ? ['n'] : ['n', 'best_of']) {
        const posted = await post(kind, { [field]: 2 })
        expect(posted.status).toBe(400)
        expect(posted.error?.param).toBe(field)
      }
    })

    it('refuses a field the relay does not know with a 400 naming it (an upstream passes it on, and the server behind answers for it)', async () => {
      const posted = await post(kind, { mirostat_tau: 5 })
      expect(posted.status).toBe(400)
      expect(posted.error?.param).toBe('mirostat_tau')
      expect(posted.error?.code).toBe(the().backend.sampling?.passesUnknown === true ? 'upstream_refused' : 'unknown_parameter')
    })
  })
}

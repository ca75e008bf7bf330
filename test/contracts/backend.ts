// The acceptance suite every relay Backend passes (src/relay/v1/backend.ts), in Vitest: streaming
// and non-streaming shape (the latter through the relay's own `respond`, on a real HTTP server),
// usage, max_tokens, stop, abort, a bad request as a named error, the model list, and close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend, BackendRequest } from '../../src/relay/v1/backend'
import { ApiError } from '../../src/relay/v1/errors'
import { AbortError } from '../../src/shared/errors'
import type { ChatCompletion, ChatCompletionChunk } from '../../src/shared/openai'
import { runResponsesCases } from './backend-responses'
import { runCompletionCases, type CompletionCaseOptions } from './backend-completions'
import { runToolCases } from './backend-tools'
import { respondingServer } from './responding-server'

export interface BackendContractSetup {
  /**
   * A fresh backend, ready to answer `model`, and a cleanup for what else was started for it
   * (the server an upstream points at, a room). The suite closes the backend itself.
   */
  open(): Promise<{ backend: Backend; model: string; cleanup?: () => Promise<void> }>
  /** What the completion cases expect of its model; default: no infill. */
  completions?: CompletionCaseOptions
}

interface Streamed {
  chunks: ChatCompletionChunk[]
  text: string
  error?: unknown
}

const settleMs = 15_000

async function collect(backend: Backend, request: BackendRequest, abortAfterContentChunks = 0): Promise<Streamed> {
  const controller = new AbortController()
  const chunks: ChatCompletionChunk[] = []
  let contentChunks = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const hung = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the ${backend.name} backend's stream did not end within ${settleMs} ms`)), settleMs)
  })
  const read = async (): Promise<void> => {
    for await (const chunk of backend.chat(request, controller.signal)) {
      chunks.push(chunk)
      if (chunk.choices.some((choice) => (choice.delta.content ?? '') !== '')) contentChunks++
      if (abortAfterContentChunks > 0 && contentChunks === abortAfterContentChunks) controller.abort()
    }
  }
  try {
    await Promise.race([read(), hung])
  } catch (error) {
    if (error instanceof Error && error.message.includes('did not end within')) throw error
    return { chunks, text: textOf(chunks), error }
  } finally {
    clearTimeout(timer)
  }
  return { chunks, text: textOf(chunks) }
}

const textOf = (chunks: readonly ChatCompletionChunk[]): string => chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? '')).join('')
const finishesOf = (chunks: readonly ChatCompletionChunk[]): string[] => chunks.flatMap((chunk) => chunk.choices.flatMap((choice) => (choice.finish_reason === null ? [] : [choice.finish_reason])))

export function runBackendContract(name: string, setup: BackendContractSetup): void {
  describe(`backend contract: ${name}`, () => {
    let opened: Awaited<ReturnType<BackendContractSetup['open']>> | undefined
    let closed = false

    const the = (): { backend: Backend; model: string } => {
      if (!opened) throw new Error('the backend did not open')
      return opened
    }
    const ask = (fields: Partial<BackendRequest> = {}): BackendRequest => ({
      model: the().model,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Tell a story about the sea.' },
      ],
      temperature: 0,
      seed: 7,
      max_tokens: 12,
      ...fields,
    })

    beforeAll(async () => {
      opened = await setup.open()
    }, 60_000)

    afterAll(async () => {
      const failures: unknown[] = []
      if (opened && !closed) await opened.backend.close().catch((error: unknown) => failures.push(error))
      await opened?.cleanup?.().catch((error: unknown) => failures.push(error))
      if (failures.length > 0) throw new AggregateError(failures, `backend contract ${name}: cleanup failed`)
    }, 30_000)

    it('lists its models, and serves the one it lists', async () => {
      const { backend, model } = the()
      const models = await backend.models(new AbortController().signal)
      expect(models.map((entry) => entry.id)).toContain(model)
      for (const entry of models) {
        expect(entry.object).toBe('model')
        expect([typeof entry.id, typeof entry.created, typeof entry.owned_by]).toEqual(['string', 'number', 'string'])
      }
      expect(backend.serves(model)).toBe(true)
      expect(backend.state()).toMatchObject({ state: 'ready' })
    })

    it('streams content chunks, then one finish reason, then one usage chunk with no choices', async () => {
      const { chunks, error } = await collect(the().backend, ask({ max_tokens: 8 }))
      expect(error).toBeUndefined()
      expect(chunks.length).toBeGreaterThan(2)
      for (const chunk of chunks) {
        expect(chunk).toMatchObject({ object: 'chat.completion.chunk', id: chunks[0]?.id })
        expect([typeof chunk.created, typeof chunk.model]).toEqual(['number', 'string'])
      }
      expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant')
      expect(textOf(chunks).length).toBeGreaterThan(0)
      expect(finishesOf(chunks)).toHaveLength(1)
      expect(['stop', 'length']).toContain(finishesOf(chunks)[0])
      // The finish reason comes after every content chunk, the usage chunk after it, last.
      const finishAt = chunks.findIndex((chunk) => chunk.choices.some((choice) => choice.finish_reason !== null))
      expect(chunks.slice(finishAt + 1).every((chunk) => chunk.choices.length === 0)).toBe(true)
      const last = chunks.at(-1)
      expect(last?.choices).toEqual([])
      const usage = last?.usage
      expect(usage?.prompt_tokens).toBeGreaterThan(0)
      expect(usage?.completion_tokens).toBeGreaterThan(0)
      expect(usage?.completion_tokens).toBeLessThanOrEqual(8)
      expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0))
      expect(chunks.slice(0, -1).every((chunk) => chunk.usage == null)).toBe(true)
    })

    it('answers a request without streaming as one chat.completion (through the relay’s respond)', async () => {
      const { server, url } = await respondingServer(the().backend)
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ask({ max_tokens: 6, stream: false })) })
        expect(response.status).toBe(200)
        const completion = (await response.json()) as ChatCompletion
        expect(completion).toMatchObject({ object: 'chat.completion', model: the().model })
        expect([typeof completion.id, typeof completion.created]).toEqual(['string', 'number'])
        expect(completion.choices).toHaveLength(1)
        expect(completion.choices[0].message.role).toBe('assistant')
        expect(completion.choices[0].message.content?.length).toBeGreaterThan(0)
        expect(['stop', 'length']).toContain(completion.choices[0].finish_reason)
        expect(completion.usage.completion_tokens).toBeGreaterThan(0)
        expect(completion.usage.completion_tokens).toBeLessThanOrEqual(6)
        expect(completion.usage.prompt_tokens).toBeGreaterThan(0)
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    })

    it('honours max_tokens', async () => {
      const { chunks, error } = await collect(the().backend, ask({ max_tokens: 3 }))
      expect(error).toBeUndefined()
      expect(chunks.at(-1)?.usage?.completion_tokens).toBeLessThanOrEqual(3)
      expect(['length', 'stop']).toContain(finishesOf(chunks)[0])
    })

    it('honours stop: the text ends before the stop sequence, which never shows', async () => {
      const free = await collect(the().backend, ask({ max_tokens: 24 }))
      expect(free.error).toBeUndefined()
      const middle = Math.floor(free.text.length / 2)
      const probe = free.text.slice(middle, middle + 1)
      // No text to stop on would leave the case unchecked: an error, not a skip.
      expect(probe, 'the model produced text to stop on').not.toBe('')
      const stopped = await collect(the().backend, ask({ max_tokens: 24, stop: [probe] }))
      expect(stopped.error).toBeUndefined()
      expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(probe)))
      expect(finishesOf(stopped.chunks)).toEqual(['stop'])
    })

    it('stops when the signal aborts: the stream ends at once (quietly or with AbortError), nothing stays active, the next request works', async () => {
      const { backend } = the()
      const aborted = await collect(backend, ask({ max_tokens: 400 }), 2)
      if (aborted.error !== undefined) expect(aborted.error).toBeInstanceOf(AbortError)
      expect(finishesOf(aborted.chunks)).toEqual([])
      expect(aborted.chunks.length).toBeLessThan(40)
      await expect.poll(() => backend.state(), { timeout: settleMs }).toMatchObject({ state: 'ready', active: 0 })
      const next = await collect(backend, ask({ max_tokens: 3 }))
      expect(next.error).toBeUndefined()
      expect(finishesOf(next.chunks)).toHaveLength(1)
    })

    runToolCases(the)
    runResponsesCases(the)

    runCompletionCases(the, setup.completions ?? { infill: false })

    it('refuses a model it does not serve with ApiError 404, before any chunk', async () => {
      const refused = await collect(the().backend, ask({ model: `${the().model}-that-is-not-here` }))
      expect(refused.chunks).toEqual([])
      expect(refused.error).toBeInstanceOf(ApiError)
      expect(refused.error).toMatchObject({ name: 'ApiError', status: 404, type: 'invalid_request_error' })
    })

    it('closes: close settles (twice too), and a chat after it fails with ApiError 503 instead of hanging', async () => {
      const { backend } = the()
      closed = true
      await backend.close()
      await backend.close()
      expect(backend.state().state).not.toBe('ready')
      const after = await collect(backend, ask({ max_tokens: 3 }))
      expect(after.chunks).toEqual([])
      expect(after.error).toBeInstanceOf(ApiError)
      expect(after.error).toMatchObject({ status: 503 })
    })
  })
}

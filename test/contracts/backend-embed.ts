// The embedding half of the backend suite (Backend.embed, src/relay/v1/backend.ts), run on every
// backend that embeds: the relay's embedding model, an upstream, the swarm gateway. One finite
// vector per text in order, all of one width; the same text the same vector; a model it does not
// serve is a 404; an abort ends it; after close it answers 503. (Unit length is the model's: an
// upstream passes on what its server makes.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend, Embeddings } from '../../src/relay/v1/backend'
import { ApiError } from '../../src/relay/v1/errors'
import { AbortError } from '../../src/shared/errors'

export interface EmbeddingContractSetup {
  /** A fresh backend, ready to embed with `model`; the suite closes it, then runs `cleanup`. */
  open(): Promise<{ backend: Backend; model: string; cleanup?: () => Promise<void> }>
}

const texts = ['the sea at night', 'a memory of rain', 'the sea at night']

export function runEmbeddingContract(name: string, setup: EmbeddingContractSetup): void {
  describe(`backend contract, embeddings: ${name}`, () => {
    let opened: Awaited<ReturnType<EmbeddingContractSetup['open']>> | undefined
    let closed = false
    const the = (): { backend: Backend; model: string } => {
      if (!opened) throw new Error('the backend did not open')
      return opened
    }
    const embed = (input: readonly string[], signal: AbortSignal = new AbortController().signal): Promise<Embeddings> => {
      const { backend, model } = the()
      if (backend.embed === undefined) throw new Error(`the ${backend.name} backend has no embed`)
      return backend.embed({ model, input }, signal)
    }

    beforeAll(async () => {
      opened = await setup.open()
    }, 60_000)

    afterAll(async () => {
      if (!closed) await opened?.backend.close()
      await opened?.cleanup?.()
    }, 30_000)

    it('lists the model it embeds with', async () => {
      const models = await the().backend.models(new AbortController().signal)
      expect(models.map((model) => model.id)).toContain(the().model)
    })

    it('gives one vector per text, in order, all of one width; the same text the same vector', async () => {
      const embeddings = await embed(texts)
      expect(embeddings.model).not.toBe('')
      expect(embeddings.vectors).toHaveLength(texts.length)
      const [first, second, again] = embeddings.vectors as [number[], number[], number[]]
      expect(first.length).toBeGreaterThan(0)
      for (const vector of embeddings.vectors) {
        expect(vector).toHaveLength(first.length)
        expect(vector.every(Number.isFinite)).toBe(true)
      }
      expect(again).toEqual(first)
      expect(second).not.toEqual(first)
      expect(embeddings.promptTokens).toBeGreaterThan(0)
      // Alone or in a batch, a text gets the same vector.
      const alone = await embed([texts[1] ?? ''])
      alone.vectors[0]?.forEach((value, index) => expect(value).toBeCloseTo(second[index] ?? Number.NaN, 4))
    })

    it('refuses a model it does not serve with ApiError 404', async () => {
      const { backend } = the()
      const refused = await backend.embed?.({ model: 'no-such-model', input: ['x'] }, new AbortController().signal).then(
        () => null,
        (error: unknown) => error,
      )
      expect(refused).toBeInstanceOf(ApiError)
      expect((refused as ApiError).status).toBe(404)
    })

    it('ends with AbortError when the signal has aborted, and the next request works', async () => {
      const controller = new AbortController()
      controller.abort()
      await expect(embed(['cut short'], controller.signal)).rejects.toBeInstanceOf(AbortError)
      expect((await embed(['after the abort'])).vectors).toHaveLength(1)
    })

    it('closes: close settles (twice too), and an embed after it fails with ApiError 503', async () => {
      const { backend } = the()
      await backend.close()
      await backend.close()
      closed = true
      const after = await embed(['too late']).then(
        () => null,
        (error: unknown) => error,
      )
      expect(after).toBeInstanceOf(ApiError)
      expect((after as ApiError).status).toBe(503)
    })
  })
}

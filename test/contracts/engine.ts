// The acceptance suite every Engine passes (as automerge-repo's runStorageAdapterTests): one
// page per engine, `globalThis.engine` built by `open`, each test driving it in the browser.
import { expect, test, type Page } from '@playwright/test'
import type { ChatChunk, ChatRequest, EngineInfo, LoadProgress } from '../../src/inference/types'

export interface EngineContractSetup {
  /**
   * Opens a page and sets `globalThis.engine` to a fresh, unloaded engine. May return a cleanup
   * for what else it started (peers in other contexts).
   */
  open(page: Page): Promise<(() => Promise<void>) | undefined>
}

interface StreamResult {
  chunks: ChatChunk[]
  text: string
  error?: string
}

function stream(page: Page, request: ChatRequest, abortAfterChunks = 0): Promise<StreamResult> {
  return page.evaluate(
    async ({ request, abortAfterChunks }) => {
      const engine = globalThis.engine
      if (!engine) throw new Error('no engine')
      const controller = new AbortController()
      const chunks: ChatChunk[] = []
      try {
        for await (const chunk of engine.chat(request, controller.signal)) {
          chunks.push(chunk)
          if (abortAfterChunks > 0 && chunks.length === abortAfterChunks) controller.abort()
        }
      } catch (error) {
        return { chunks, text: '', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
      }
      return { chunks, text: chunks.map((chunk) => chunk.choices[0].delta.content ?? '').join('') }
    },
    { request, abortAfterChunks },
  )
}

const info = (page: Page): Promise<EngineInfo | undefined> => page.evaluate(() => globalThis.engine?.info())
const prompt = (content: string, fields: Partial<ChatRequest> = {}): ChatRequest => ({ messages: [{ role: 'user', content }], temperature: 1, seed: 7, ...fields })

export function runEngineContract(name: string, setup: EngineContractSetup): void {
  test.describe.serial(`engine contract: ${name}`, () => {
    let page: Page

    test.beforeAll(async ({ browser }) => {
      page = await browser.newPage()
      page.on('pageerror', (error) => console.error(`[${name} page error] ${error.message}`))
      await setup.open(page)
    })
    test.afterAll(async () => {
      await page.context().close()
    })

    test('loads, reporting progress', async () => {
      const progress = await page.evaluate(async () => {
        const events: LoadProgress[] = []
        await globalThis.engine?.load((event) => events.push(event))
        return events
      })
      expect(progress.length).toBeGreaterThan(0)
      for (const event of progress) {
        expect(['download', 'load']).toContain(event.phase)
        expect(event.loadedBytes).toBeGreaterThanOrEqual(0)
      }
      const loaded = await info(page)
      expect(loaded?.modelId).toBeTruthy()
      expect(loaded?.contextSize).toBeGreaterThan(0)
    })

    test('streams chunks in OpenAI chat.completion.chunk shape, ending with finish_reason and usage', async () => {
      const { chunks, error } = await stream(page, prompt('Say hello.', { max_tokens: 12 }))
      expect(error).toBeUndefined()
      expect(chunks.length).toBeGreaterThan(1)
      const [first] = chunks
      for (const chunk of chunks) {
        expect(chunk).toMatchObject({ object: 'chat.completion.chunk', id: first?.id, model: expect.any(String), created: expect.any(Number) })
        expect(chunk.choices).toHaveLength(1)
        expect(chunk.choices[0].index).toBe(0)
      }
      expect(first?.choices[0].delta.role).toBe('assistant')
      const last = chunks.at(-1)
      expect(['stop', 'length']).toContain(last?.choices[0].finish_reason)
      expect(last?.usage?.completion_tokens).toBeGreaterThan(0)
      expect(last?.usage?.prompt_tokens).toBeGreaterThan(0)
      for (const chunk of chunks.slice(0, -1)) expect(chunk.choices[0].finish_reason).toBeNull()
    })

    test('honours max_tokens', async () => {
      const { chunks } = await stream(page, prompt('Count to one hundred.', { max_tokens: 4 }))
      const last = chunks.at(-1)
      expect(last?.usage?.completion_tokens).toBeLessThanOrEqual(4)
      expect(['length', 'stop']).toContain(last?.choices[0].finish_reason)
    })

    test('honours stop: the output ends before the stop sequence, which never shows', async () => {
      const free = await stream(page, prompt('Tell a story.', { max_tokens: 24 }))
      const probe = free.text.length > 2 ? free.text.slice(Math.floor(free.text.length / 2), Math.floor(free.text.length / 2) + 1) : free.text.slice(0, 1)
      // No text to stop on would leave the case unchecked: an error, not a skip.
      expect(probe, 'the model produced text to stop on').not.toBe('')
      const stopped = await stream(page, prompt('Tell a story.', { max_tokens: 24, stop: [probe] }))
      expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(probe)))
      expect(stopped.text).not.toContain(probe)
      expect(stopped.chunks.at(-1)?.choices[0].finish_reason).toBe('stop')
    })

    test('an abort mid-stream ends the stream with finish_reason abort, and the next request works', async () => {
      const aborted = await stream(page, prompt('Write a long essay.', { max_tokens: 400 }), 3)
      expect(aborted.error).toBeUndefined()
      expect(aborted.chunks.at(-1)?.choices[0].finish_reason).toBe('abort')
      expect(aborted.chunks.length).toBeLessThan(40)
      const next = await stream(page, prompt('And now a short one.', { max_tokens: 6 }))
      expect(next.error).toBeUndefined()
      expect(['stop', 'length']).toContain(next.chunks.at(-1)?.choices[0].finish_reason)
    })

    test('reports prefill and decode tokens per second', async () => {
      await stream(page, prompt('Measure me.', { max_tokens: 16 }))
      const measured = await info(page)
      expect(measured?.prefillTokensPerS).toBeGreaterThan(0)
      expect(measured?.decodeTokensPerS).toBeGreaterThan(0)
    })

    test('unloads; a chat after unload fails with a named error instead of hanging', async () => {
      await page.evaluate(() => globalThis.engine?.unload())
      const after = await stream(page, prompt('Anyone there?', { max_tokens: 4 }))
      expect(after.error).toMatch(/^InferenceError: /)
    })
  })
}

// The cases of the Engine acceptance suite, written once over an EngineDriver: Playwright drives
// an engine in a page (engine.ts), Vitest drives one in this process (engine-inproc.ts). They use
// node:assert, which both runners report as a failure, so neither runner's `expect` leaks in.
import assert from 'node:assert/strict'
import type { ChatChunk, ChatMessage, ChatRequest, EngineInfo, LoadProgress, TokenCount } from '../../src/inference/types'

export interface StreamResult {
  chunks: ChatChunk[]
  text: string
  /** `Name: message` of what the chat threw; absent when it ended normally. */
  error?: string
}

/** How a case reaches the engine under test, wherever it runs. */
export interface EngineDriver {
  /** Loads the engine and returns the progress it reported. */
  load(): Promise<LoadProgress[]>
  /** Streams `request`; aborts it after `abortAfterChunks` chunks when that is above 0. */
  stream(request: ChatRequest, abortAfterChunks?: number): Promise<StreamResult>
  info(): Promise<EngineInfo | undefined>
  /** The engine's `countTokens`; null when it has none (callers estimate). */
  count(messages: ChatMessage[]): Promise<TokenCount | null>
  unload(): Promise<void>
}

export interface EngineCase {
  title: string
  run: (engine: EngineDriver) => Promise<void>
}

export const prompt = (content: string, fields: Partial<ChatRequest> = {}): ChatRequest => ({ messages: [{ role: 'user', content }], temperature: 1, seed: 7, ...fields })

const finishOf = (chunk: ChatChunk | undefined): string | null | undefined => chunk?.choices[0].finish_reason

/** The cases in order: each leaves the engine as the next expects it (loaded, then unloaded last). */
export const engineCases: readonly EngineCase[] = [
  {
    title: 'loads, reporting progress',
    async run(engine) {
      const progress = await engine.load()
      assert.ok(progress.length > 0, 'load reported no progress')
      for (const event of progress) {
        assert.ok(['download', 'load'].includes(event.phase), `progress phase ${event.phase}`)
        assert.ok(event.loadedBytes >= 0, `loadedBytes ${event.loadedBytes}`)
      }
      const loaded = await engine.info()
      assert.ok(loaded?.modelId, 'info().modelId is empty after load')
      assert.ok(loaded.contextSize > 0, `contextSize ${loaded.contextSize}`)
      assert.equal(loaded.availability, 'ready', 'info().availability after load')
    },
  },
  {
    title: 'counts tokens per message when it has a tokenizer, or leaves counting to the caller',
    async run(engine) {
      const short = 'Hi.'
      const long = 'The quick brown fox jumps over the lazy dog, again and again, by the river. '.repeat(8)
      const count = await engine.count([
        { role: 'user', content: short },
        { role: 'assistant', content: long },
      ])
      if (count === null) return
      assert.equal(count.perMessage.length, 2)
      assert.equal(typeof count.exact, 'boolean')
      const [shortTokens = 0, longTokens = 0] = count.perMessage
      assert.ok(shortTokens > 0 && longTokens > shortTokens * 5, `counts ${count.perMessage.join(', ')}`)
    },
  },
  {
    title: 'streams chunks in OpenAI chat.completion.chunk shape, ending with finish_reason and usage',
    async run(engine) {
      const { chunks, error } = await engine.stream(prompt('Say hello.', { max_tokens: 12 }))
      assert.equal(error, undefined)
      assert.ok(chunks.length > 1, `${chunks.length} chunk(s)`)
      const [first] = chunks
      for (const chunk of chunks) {
        assert.equal(chunk.object, 'chat.completion.chunk')
        assert.equal(chunk.id, first?.id)
        assert.equal(typeof chunk.model, 'string')
        assert.equal(typeof chunk.created, 'number')
        assert.equal(chunk.choices.length, 1)
        assert.equal(chunk.choices[0].index, 0)
      }
      assert.equal(first?.choices[0].delta.role, 'assistant')
      const last = chunks.at(-1)
      assert.ok(['stop', 'length'].includes(finishOf(last) ?? ''), `last finish_reason ${finishOf(last)}`)
      assert.ok((last?.usage?.completion_tokens ?? 0) > 0, 'usage.completion_tokens')
      assert.ok((last?.usage?.prompt_tokens ?? 0) > 0, 'usage.prompt_tokens')
      for (const chunk of chunks.slice(0, -1)) assert.equal(finishOf(chunk), null)
    },
  },
  {
    title: 'honours max_tokens',
    async run(engine) {
      const { chunks } = await engine.stream(prompt('Count to one hundred.', { max_tokens: 4 }))
      const last = chunks.at(-1)
      assert.ok((last?.usage?.completion_tokens ?? Number.NaN) <= 4, `completion_tokens ${last?.usage?.completion_tokens}`)
      assert.ok(['length', 'stop'].includes(finishOf(last) ?? ''), `finish_reason ${finishOf(last)}`)
    },
  },
  {
    title: 'honours stop: the output ends before the stop sequence, which never shows',
    async run(engine) {
      const free = await engine.stream(prompt('Tell a story.', { max_tokens: 24 }))
      const probe = free.text.length > 2 ? free.text.slice(Math.floor(free.text.length / 2), Math.floor(free.text.length / 2) + 1) : free.text.slice(0, 1)
      // No text to stop on would leave the case unchecked: an error, not a skip.
      assert.notEqual(probe, '', 'the model produced text to stop on')
      const stopped = await engine.stream(prompt('Tell a story.', { max_tokens: 24, stop: [probe] }))
      assert.equal(stopped.text, free.text.slice(0, free.text.indexOf(probe)))
      assert.ok(!stopped.text.includes(probe), 'the stop sequence shows')
      assert.equal(finishOf(stopped.chunks.at(-1)), 'stop')
    },
  },
  {
    title: 'an abort mid-stream ends the stream with finish_reason abort, and the next request works',
    async run(engine) {
      const aborted = await engine.stream(prompt('Write a long essay.', { max_tokens: 400 }), 3)
      assert.equal(aborted.error, undefined)
      assert.equal(finishOf(aborted.chunks.at(-1)), 'abort')
      assert.ok(aborted.chunks.length < 40, `${aborted.chunks.length} chunks after the abort`)
      const next = await engine.stream(prompt('And now a short one.', { max_tokens: 6 }))
      assert.equal(next.error, undefined)
      assert.ok(['stop', 'length'].includes(finishOf(next.chunks.at(-1)) ?? ''), `finish_reason ${finishOf(next.chunks.at(-1))}`)
    },
  },
  {
    title: 'reports prefill and decode tokens per second',
    async run(engine) {
      await engine.stream(prompt('Measure me.', { max_tokens: 16 }))
      const measured = await engine.info()
      assert.ok((measured?.prefillTokensPerS ?? 0) > 0, `prefillTokensPerS ${measured?.prefillTokensPerS}`)
      assert.ok((measured?.decodeTokensPerS ?? 0) > 0, `decodeTokensPerS ${measured?.decodeTokensPerS}`)
    },
  },
  {
    title: 'unloads; a chat after unload fails with a named error instead of hanging',
    async run(engine) {
      await engine.unload()
      assert.equal((await engine.info())?.availability, 'unavailable', 'info().availability after unload')
      const after = await engine.stream(prompt('Anyone there?', { max_tokens: 4 }))
      // InferenceError, or EngineUnavailableError (the engine cannot run a chat now: the router
      // falls back on it): both are named; a plain Error or a hang is not.
      assert.match(after.error ?? '', /^(InferenceError|EngineUnavailableError): /)
    },
  },
]

/** Drives a chat the way every driver does: collects the chunks, aborts after `abortAfterChunks`. */
export async function collectStream(chat: (signal: AbortSignal) => AsyncIterable<ChatChunk>, abortAfterChunks = 0): Promise<StreamResult> {
  const controller = new AbortController()
  const chunks: ChatChunk[] = []
  try {
    for await (const chunk of chat(controller.signal)) {
      chunks.push(chunk)
      if (abortAfterChunks > 0 && chunks.length === abortAfterChunks) controller.abort()
    }
  } catch (error) {
    return { chunks, text: '', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
  }
  return { chunks, text: chunks.map((chunk) => chunk.choices[0].delta.content ?? '').join('') }
}

// The cases of the Engine acceptance suite, written once over an EngineDriver: Playwright drives
// an engine in a page (engine.ts), Vitest drives one in this process (engine-inproc.ts). They use
// node:assert, which both runners report as a failure, so neither runner's `expect` leaks in.
import assert from 'node:assert/strict'
import type { ChatChunk, ChatMessage, ChatRequest, EngineInfo, LoadProgress, TokenCount, Tool, ToolCall } from '../../src/inference/types'
import { schemaProblems } from './json-schema-check'

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
    title: 'a forced tool_choice gives one well-formed call of the named tool, finish_reason tool_calls (or a clean refusal)',
    async run(engine) {
      const request = prompt('What time is it in Paris?', { max_tokens: structuredMaxTokens, tools: [weatherTool, timeTool], tool_choice: { type: 'function', function: { name: 'get_time' } } })
      if (!(await refusesUnsupported(engine, request, 'tools'))) return
      const { chunks, error } = await engine.stream(request)
      assert.equal(error, undefined)
      const [call, ...more] = toolCallsOf(chunks)
      assert.equal(more.length, 0, `${more.length + 1} calls`)
      assertCallOf(call, timeTool)
      assert.equal(finishOf(chunks.at(-1)), 'tool_calls')
      for (const chunk of chunks.slice(0, -1)) assert.equal(finishOf(chunk), null)
    },
  },
  {
    title: "a two-turn tool loop: tool_choice required calls, a role 'tool' answer is taken, the next turn answers (or a clean refusal)",
    async run(engine) {
      const tools = [weatherTool, timeTool]
      const ask = prompt('Will it rain in Oslo?', { max_tokens: structuredMaxTokens, tools, tool_choice: 'required' })
      if (!(await refusesUnsupported(engine, ask, 'tools'))) return
      const first = await engine.stream(ask)
      assert.equal(first.error, undefined)
      const [call] = toolCallsOf(first.chunks)
      const tool = tools.find((one) => one.function.name === call?.function.name)
      assert.ok(tool, `the call names one of the tools offered: ${call?.function.name}`)
      assertCallOf(call, tool)
      assert.equal(finishOf(first.chunks.at(-1)), 'tool_calls')
      const answer = prompt('', {
        max_tokens: 8,
        tools,
        tool_choice: 'none',
        messages: [...ask.messages, { role: 'assistant', content: first.text, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ rain: false, celsius: 14 }) }],
      })
      const second = await engine.stream(answer)
      assert.equal(second.error, undefined)
      assert.deepEqual(toolCallsOf(second.chunks), [])
      assert.ok(second.text.length > 0, 'the final turn has text')
      assert.ok(['stop', 'length'].includes(finishOf(second.chunks.at(-1)) ?? ''), `finish_reason ${finishOf(second.chunks.at(-1))}`)
    },
  },
  {
    title: 'response_format json_schema: the output validates against the schema (or a clean refusal)',
    async run(engine) {
      const request = prompt('Describe a city as JSON.', {
        max_tokens: structuredMaxTokens,
        enable_thinking: false,
        response_format: { type: 'json_schema', json_schema: { name: 'city', schema: citySchema, strict: true } },
      })
      if (!(await refusesUnsupported(engine, request, 'response_format'))) return
      const { text, chunks, error } = await engine.stream(request)
      assert.equal(error, undefined)
      assert.equal(finishOf(chunks.at(-1)), 'stop', `finish_reason ${finishOf(chunks.at(-1))} after ${text.slice(0, 200)}`)
      const value: unknown = JSON.parse(text)
      assert.deepEqual(schemaProblems(citySchema, value), [], text)
    },
  },
  {
    title: 'response_format json_object: the output is a JSON object (or a clean refusal)',
    async run(engine) {
      const request = prompt('Any JSON object.', { max_tokens: 300, enable_thinking: false, response_format: { type: 'json_object' } })
      if (!(await refusesUnsupported(engine, request, 'response_format'))) return
      const { text, chunks, error } = await engine.stream(request)
      assert.equal(error, undefined)
      // A random model may write an object too long for max_tokens; a cut one cannot be checked.
      if (finishOf(chunks.at(-1)) === 'length') return
      assert.deepEqual(schemaProblems({ type: 'object' }, JSON.parse(text)), [], text)
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

/**
 * Room for a constrained answer from a random-weight model: llama.cpp's JSON grammar allows up to
 * 22 whitespace characters between tokens, which such a model writes freely, so the schemas here
 * bound every string to keep the worst case (about 500 tokens) under this.
 */
const structuredMaxTokens = 640

const weatherTool: Tool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city over the next days',
    parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Oslo', 'Lima'] }, days: { type: 'integer' } }, required: ['city', 'days'], additionalProperties: false },
  },
}

const timeTool: Tool = {
  type: 'function',
  function: {
    name: 'get_time',
    description: 'The time in a time zone',
    parameters: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } }, required: ['zone'], additionalProperties: false },
  },
}

const citySchema = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 24 }, population: { type: 'integer' }, capital: { type: 'boolean' }, climate: { type: 'string', enum: ['cold', 'mild', 'hot'] } },
  required: ['name', 'population', 'capital', 'climate'],
  additionalProperties: false,
}

/**
 * An engine whose info() says it lacks `what` must refuse with UnsupportedRequestError, not
 * drop the field and answer; returns whether the engine claims it (the case then checks it).
 */
async function refusesUnsupported(engine: EngineDriver, request: ChatRequest, what: 'tools' | 'response_format'): Promise<boolean> {
  const supports = (await engine.info())?.supports
  assert.ok(supports, 'info().supports')
  if (what === 'tools' ? supports.tools : supports.jsonSchema) return true
  const refused = await engine.stream(request)
  assert.match(refused.error ?? '', new RegExp(`^UnsupportedRequestError: .*${what}`), `a request with ${what} the engine says it lacks`)
  return false
}

/** The calls the stream made, its deltas joined by index as an OpenAI client joins them. */
export function toolCallsOf(chunks: readonly ChatChunk[]): ToolCall[] {
  const calls: { id: string; name: string; arguments: string }[] = []
  for (const chunk of chunks) {
    for (const delta of chunk.choices[0].delta.tool_calls ?? []) {
      const call = (calls[delta.index] ??= { id: '', name: '', arguments: '' })
      call.id += delta.id ?? ''
      call.name += delta.function.name ?? ''
      call.arguments += delta.function.arguments ?? ''
    }
  }
  return calls.map(({ id, name, arguments: args }) => ({ id, type: 'function', function: { name, arguments: args } }))
}

function assertCallOf(call: ToolCall | undefined, tool: Tool): asserts call is ToolCall {
  assert.ok(call, 'the stream made no tool call')
  assert.match(call.id, /^[A-Za-z0-9_.:-]{1,64}$/, `tool call id ${call.id}`)
  assert.equal(call.function.name, tool.function.name)
  const args: unknown = JSON.parse(call.function.arguments)
  assert.deepEqual(schemaProblems(tool.function.parameters ?? {}, args), [], call.function.arguments)
}

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

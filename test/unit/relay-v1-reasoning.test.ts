// The relay's thinking split (src/relay/v1/reasoning.ts): whole answers, streams cut anywhere
// (every cut of each text gives what the whole text gives), chunks, and the thinking fields.
import { describe, expect, it } from 'vitest'
import { createReasoningSplitter, splitReasoning, splitReasoningChunks, thinkingAsked } from '../../src/relay/v1/reasoning'
import { ApiError } from '../../src/relay/v1/errors'
import { chunkBuilder, type ChatCompletionChunk } from '../../src/shared/openai'

const texts = [
  '<think>\nLet me see.\n</think>\n\nParis.',
  '  <think>a < b </think>answer <think> stays',
  '<think>\n\n</think>\n\nNo thinking here.',
  '<think>never closed, cut by max_tokens  ',
  'Plain answer with </think> and <think> inside.',
  '<thin',
  '\n\n',
  '<think></think>',
  '<think>x</think',
]

function streamed(text: string, cuts: readonly number[]): { reasoning: string; content: string } {
  const splitter = createReasoningSplitter()
  const out = { reasoning: '', content: '' }
  let from = 0
  for (const cut of [...cuts, text.length]) {
    const piece = splitter.push(text.slice(from, cut))
    out.reasoning += piece.reasoning
    out.content += piece.content
    from = cut
  }
  const rest = splitter.end()
  return { reasoning: out.reasoning + rest.reasoning, content: out.content + rest.content }
}

describe('reasoning split', () => {
  it('splits a whole answer: the think part trimmed, the answer from its first non-blank character', () => {
    expect(splitReasoning(texts[0] ?? '')).toEqual({ reasoning: 'Let me see.', content: 'Paris.' })
    expect(splitReasoning(texts[1] ?? '')).toEqual({ reasoning: 'a < b', content: 'answer <think> stays' })
    expect(splitReasoning(texts[2] ?? '')).toEqual({ reasoning: '', content: 'No thinking here.' })
    expect(splitReasoning(texts[3] ?? '')).toEqual({ reasoning: 'never closed, cut by max_tokens', content: '' })
    expect(splitReasoning(texts[4] ?? '')).toEqual({ reasoning: '', content: texts[4] })
    expect(splitReasoning('<thin')).toEqual({ reasoning: '', content: '<thin' })
    expect(splitReasoning('<think>x</think')).toEqual({ reasoning: 'x</think', content: '' })
  })

  it('gives the same split for every way a stream cuts the text in two or three pieces', () => {
    for (const text of texts) {
      const whole = splitReasoning(text)
      for (let a = 0; a <= text.length; a++) {
        expect(streamed(text, [a]), `${JSON.stringify(text)} cut at ${a}`).toEqual(whole)
        for (let b = a; b <= text.length; b += 3) expect(streamed(text, [a, b]), `${JSON.stringify(text)} cut at ${a}, ${b}`).toEqual(whole)
      }
    }
  })

  it('character by character, reasoning goes out before the answer ends (nothing is held past a tag)', () => {
    const splitter = createReasoningSplitter()
    const seen: string[] = []
    for (const character of '<think>step one, step two</think>done') seen.push(splitter.push(character).reasoning)
    expect(seen.join('')).toBe('step one, step two')
    expect(seen.filter((piece) => piece !== '').length).toBeGreaterThan(10)
  })
})

async function* from(chunks: ChatCompletionChunk[]): AsyncGenerator<ChatCompletionChunk> {
  yield* chunks
}

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = []
  for await (const chunk of chunks) out.push(chunk)
  return out
}

describe('reasoning split of chunks', () => {
  const build = chunkBuilder('m')
  const usage = { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 }

  it('moves the think part into reasoning_content deltas, drops chunks left empty, keeps the finish and usage chunks', async () => {
    const out = await collect(
      splitReasoningChunks(from([build.role(), build.content('<thi'), build.content('nk>\nHm'), build.content('m\n</th'), build.content('ink>\n\nOK'), build.finish('stop'), build.usage(usage)])),
    )
    const deltas = out.flatMap((chunk) => chunk.choices.map((choice) => choice.delta))
    expect(deltas.map((delta) => delta.reasoning_content ?? '').join('')).toBe('Hmm')
    expect(deltas.map((delta) => delta.content ?? '').join('')).toBe('OK')
    expect(out[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' })
    expect(out.every((chunk) => chunk.choices.length === 0 || chunk.choices.some((choice) => choice.finish_reason !== null || Object.keys(choice.delta).length > 0))).toBe(true)
    expect(out.at(-2)?.choices[0]?.finish_reason).toBe('stop')
    expect(out.at(-1)).toEqual(build.usage(usage))
  })

  it('flushes what waited with the finish chunk (an unclosed think part)', async () => {
    const out = await collect(splitReasoningChunks(from([build.content('<think>abc </', true), build.finish('length')])))
    expect(out.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.reasoning_content ?? '')).join('')).toBe('abc </')
  })

  it('passes an upstream that splits itself through untouched', async () => {
    const split: ChatCompletionChunk = { ...build.content(''), choices: [{ index: 0, delta: { reasoning_content: 'thought' }, finish_reason: null }] }
    const chunks = [build.role(), split, build.content('<think>literal</think>'), build.finish('stop')]
    const out = await collect(splitReasoningChunks(from(chunks)))
    expect(out.slice(1)).toEqual(chunks.slice(1))
  })
})

describe('thinking fields', () => {
  it('reads enable_thinking, chat_template_kwargs.enable_thinking and reasoning_effort', () => {
    expect(thinkingAsked({})).toEqual({ think: true, effort: null })
    expect(thinkingAsked({ enable_thinking: false })).toEqual({ think: false })
    expect(thinkingAsked({ chat_template_kwargs: { enable_thinking: false } })).toEqual({ think: false })
    expect(thinkingAsked({ reasoning_effort: 'none' })).toEqual({ think: false })
    expect(thinkingAsked({ reasoning_effort: 'low', chat_template_kwargs: { enable_thinking: true } })).toEqual({ think: true, effort: 'low' })
  })

  it('refuses fields that disagree with a 400 naming one of them', () => {
    const refused = (fields: Parameters<typeof thinkingAsked>[0]): unknown => {
      try {
        thinkingAsked(fields)
      } catch (error) {
        return error
      }
      return null
    }
    expect(refused({ enable_thinking: true, chat_template_kwargs: { enable_thinking: false } })).toMatchObject({ status: 400, param: 'chat_template_kwargs.enable_thinking' })
    expect(refused({ enable_thinking: true, reasoning_effort: 'none' })).toMatchObject({ status: 400, param: 'reasoning_effort' })
    expect(refused({ enable_thinking: false, reasoning_effort: 'high' })).toBeInstanceOf(ApiError)
  })
})

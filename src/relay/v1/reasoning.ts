// Qwen3's thinking, split out of the answer. Qwen3 writes `<think>…</think>` at the start of its
// answer, in the text (the embedded backend writes its thought segment so, a swarm node's answer
// is raw, an upstream may send either); clients of llama-server and vLLM read it apart, in
// `reasoning_content`. The split runs on text as it streams: a tag may be cut between two pieces,
// so what could still begin or end a tag waits for the next piece. Only a think part at the very
// start counts (after whitespace): a `<think>` later in the answer is the answer's text. The
// reasoning is trimmed, and the answer after it starts at its first non-blank character.
//
// Also here: what a request asks of the thinking (`enable_thinking`, vLLM's and llama-server's
// `chat_template_kwargs.enable_thinking`, OpenAI's `reasoning_effort`), read once for every backend.
import type { ChatCompletionChunk, ChatCompletionRequest, ChunkChoice, ReasoningEffort } from '../../shared/openai'
import { badRequest } from './errors'

const openTag = '<think>'
const closeTag = '</think>'

/** A piece of the model's output, split: either part may be empty. */
export interface ThinkingSplit {
  reasoning: string
  content: string
}

export interface ReasoningSplitter {
  /** The next piece of the model's raw output, split; text that could be part of a tag waits. */
  push(text: string): ThinkingSplit
  /** What waited, at the end of the output (an unclosed think part is all reasoning). */
  end(): ThinkingSplit
}

/** How many characters at the end of `text` could begin `tag`. */
function partialTagAt(text: string, tag: string): number {
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length--) if (tag.startsWith(text.slice(-length))) return length
  return 0
}

/** Splits one output as it streams; one splitter per answer. */
export function createReasoningSplitter(): ReasoningSplitter {
  /** `start`: nothing but blanks yet; `opened` and `after`: blanks after `<think>` and after `</think>` are dropped. */
  let phase: 'start' | 'opened' | 'thinking' | 'after' | 'answer' = 'start'
  let pending = ''

  function drain(): ThinkingSplit {
    const out: ThinkingSplit = { reasoning: '', content: '' }
    for (;;) {
      if (phase === 'start') {
        const text = pending.trimStart()
        if (text.startsWith(openTag)) {
          phase = 'opened'
          pending = text.slice(openTag.length)
          continue
        }
        // Blanks, or the start of `<think>`: wait to see which.
        if (text === '' || openTag.startsWith(text)) return out
        phase = 'answer'
        continue
      }
      if (phase === 'opened') {
        pending = pending.trimStart()
        if (pending === '') return out
        phase = 'thinking'
      }
      if (phase === 'thinking') {
        const at = pending.indexOf(closeTag)
        if (at !== -1) {
          out.reasoning += pending.slice(0, at).trimEnd()
          pending = pending.slice(at + closeTag.length)
          phase = 'after'
          continue
        }
        // Blanks at the end wait too: they are dropped if `</think>` follows them.
        const held = pending.length - partialTagAt(pending, closeTag)
        const ready = pending.slice(0, held).trimEnd().length
        out.reasoning += pending.slice(0, ready)
        pending = pending.slice(ready)
        return out
      }
      if (phase === 'after') {
        pending = pending.trimStart()
        if (pending === '') return out
        phase = 'answer'
      }
      out.content += pending
      pending = ''
      return out
    }
  }

  return {
    push(text) {
      pending += text
      return drain()
    },
    end() {
      const out = drain()
      if (phase === 'thinking') out.reasoning += pending.trimEnd()
      else if (phase === 'start' || phase === 'answer') out.content += pending
      pending = ''
      return out
    },
  }
}

/** A whole answer's thinking and answer proper. */
export function splitReasoning(text: string): ThinkingSplit {
  const splitter = createReasoningSplitter()
  const pushed = splitter.push(text)
  const ended = splitter.end()
  return { reasoning: pushed.reasoning + ended.reasoning, content: pushed.content + ended.content }
}

/** The delta with `split` for its text: `reasoning_content` only where there is some. */
function splitDelta(delta: ChunkChoice['delta'], split: ThinkingSplit): ChunkChoice['delta'] {
  const { content: _content, ...rest } = delta
  return {
    ...rest,
    // The role chunk's empty content stays; text that was all thinking leaves none.
    ...(split.content !== '' || (delta.content != null && split.reasoning === '') ? { content: split.content } : {}),
    ...(split.reasoning === '' ? {} : { reasoning_content: split.reasoning }),
  }
}

/**
 * A backend's chunks with the thinking of each choice in `reasoning_content`. A backend that
 * already splits it (an upstream sending `reasoning_content`) passes through untouched from its
 * first such chunk on. A chunk left with nothing to say (its text all waiting) is not sent.
 */
export async function* splitReasoningChunks(chunks: AsyncIterable<ChatCompletionChunk>): AsyncGenerator<ChatCompletionChunk> {
  const splitters = new Map<number, ReasoningSplitter>()
  let passthrough = false
  for await (const chunk of chunks) {
    passthrough ||= chunk.choices.some((choice) => choice.delta.reasoning_content != null)
    if (passthrough) {
      yield chunk
      continue
    }
    const choices = chunk.choices.map((choice): ChunkChoice => {
      const splitter = splitters.get(choice.index) ?? createReasoningSplitter()
      splitters.set(choice.index, splitter)
      const text = choice.delta.content
      // The answer ends with this chunk: what waited goes out with it.
      const split = choice.finish_reason === null ? splitter.push(text ?? '') : mergeSplits(splitter.push(text ?? ''), splitter.end())
      return { ...choice, delta: splitDelta(choice.delta, split) }
    })
    if (chunk.choices.length === 0 || choices.some((choice) => choice.finish_reason !== null || hasAny(choice.delta))) yield { ...chunk, choices }
  }
}

const mergeSplits = (a: ThinkingSplit, b: ThinkingSplit): ThinkingSplit => ({ reasoning: a.reasoning + b.reasoning, content: a.content + b.content })

const hasAny = (delta: ChunkChoice['delta']): boolean => delta.role !== undefined || (delta.content ?? '') !== '' || (delta.reasoning_content ?? '') !== '' || (delta.tool_calls?.length ?? 0) > 0

/** What a request asks of the model's thinking: off, on (the model's own way), or on with an effort. */
export type ThinkingAsked = { think: false } | { think: true; effort: Exclude<ReasoningEffort, 'none'> | null }

/** The thinking fields of a request. */
export type ThinkingFields = Pick<ChatCompletionRequest, 'enable_thinking' | 'chat_template_kwargs' | 'reasoning_effort'>

/**
 * Reads the thinking fields; fields that disagree (enable_thinking true with reasoning_effort
 * none, the top-level switch against chat_template_kwargs's) are a 400 naming the second.
 */
export function thinkingAsked(request: ThinkingFields): ThinkingAsked {
  const topLevel = request.enable_thinking ?? null
  const kwarg = request.chat_template_kwargs?.enable_thinking ?? null
  if (topLevel !== null && kwarg !== null && topLevel !== kwarg) {
    throw badRequest(`enable_thinking is ${topLevel} but chat_template_kwargs.enable_thinking is ${kwarg}: send one`, 'chat_template_kwargs.enable_thinking')
  }
  const enabled = topLevel ?? kwarg
  const effort = request.reasoning_effort ?? null
  if (effort === 'none') {
    if (enabled === true) throw badRequest('reasoning_effort is "none" but enable_thinking is true: send one', 'reasoning_effort')
    return { think: false }
  }
  if (enabled === false) {
    if (effort !== null) throw badRequest(`reasoning_effort is ${JSON.stringify(effort)} but enable_thinking is false: send one`, 'reasoning_effort')
    return { think: false }
  }
  return { think: true, effort }
}

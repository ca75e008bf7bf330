import type { ChatRequest } from '../inference/types'
import { TaskFailedError } from './errors'
import type { Requirements } from './schema'
import type { TaskHandle, TaskLinks, TaskResult } from './types'
import { vote } from './vote'

/** What a job needs from a market node. */
export interface JobHost {
  submit(request: ChatRequest, requirements?: Requirements, options?: TaskLinks): TaskHandle
  recordVote(jobId: string, answers: readonly TaskResult[], winners: string[], outvoted: string[]): void
  newId(): string
}

export interface FanOutOptions {
  chunkChars: number
  /** System prompt of each map task; the chunk is the user message. */
  mapPrompt: string
  /** System prompt of the reduce task; the map answers, in order, are the user message. */
  reducePrompt: string
  /** Caps every map and reduce answer. */
  maxTokens?: number
  requirements?: Requirements
}

export interface FanOutResult {
  text: string
  parts: TaskResult[]
  reduce: TaskResult
}

export interface RedundantResult {
  chosen: TaskResult
  answers: TaskResult[]
  /** Executors whose answers disagreed with the chosen one; their reputation drops. */
  outvoted: string[]
}

/** Splits at paragraph, line or word breaks so that no piece is over `chunkChars`. */
export function splitText(text: string, chunkChars: number): string[] {
  const limit = Math.max(1, Math.floor(chunkChars))
  const pieces: string[] = []
  let rest = text.trim()
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1)
    let cut = Math.max(window.lastIndexOf('\n\n'), window.lastIndexOf('\n'), window.lastIndexOf(' '))
    if (cut <= 0) cut = limit
    pieces.push(rest.slice(0, cut).trim())
    rest = rest.slice(cut).trim()
  }
  if (rest) pieces.push(rest)
  return pieces.filter((piece) => piece.length > 0)
}

/** Map a long text over peers, one task per chunk, then reduce the answers in one more task. */
export async function fanOut(host: JobHost, text: string, options: FanOutOptions): Promise<FanOutResult> {
  const chunks = splitText(text, options.chunkChars)
  if (chunks.length === 0) throw new TaskFailedError('fan-out: the text is empty')
  const requirements = options.requirements ?? {}
  // Map tasks are siblings: each goes to a peer that holds none of the others, while there is one.
  const siblings = new Set<string>()
  const handles = chunks.map((chunk) =>
    host.submit(
      {
        messages: [
          { role: 'system', content: options.mapPrompt },
          { role: 'user', content: chunk },
        ],
        ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
      },
      requirements,
      { siblings },
    ),
  )
  let parts: TaskResult[]
  try {
    parts = await Promise.all(handles.map((handle) => handle.result))
  } catch (error) {
    for (const handle of handles) handle.cancel()
    throw error
  }
  const joined = parts.map((part, index) => `[${index + 1}] ${part.text}`).join('\n\n')
  const reduceRequest: ChatRequest = {
    messages: [
      { role: 'system', content: options.reducePrompt },
      { role: 'user', content: joined },
    ],
    ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
  }
  const reduce = await host.submit(reduceRequest, requirements).result
  return { text: reduce.text, parts, reduce }
}

/**
 * Runs one request on k different peers (as far as there are k), votes on the answers by
 * their similarity, and records the vote so that outvoted peers lose reputation.
 */
export async function redundant(host: JobHost, request: ChatRequest, k: number, requirements: Requirements = {}): Promise<RedundantResult> {
  const copies = Math.max(1, Math.min(16, Math.floor(k)))
  const siblings = new Set<string>()
  const handles = Array.from({ length: copies }, () => host.submit(request, { ...requirements, redundancy: copies }, { siblings }))
  const settled = await Promise.allSettled(handles.map((handle) => handle.result))
  const answers = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
  const outcome = vote(answers)
  if (!outcome) {
    const first = settled.find((o) => o.status === 'rejected')
    throw new TaskFailedError(`redundant job: no answer (${first?.reason instanceof Error ? first.reason.message : 'no tasks'})`)
  }
  if (new Set(answers.map((answer) => answer.executor)).size > 1) host.recordVote(host.newId(), answers, outcome.winners, outcome.outvoted)
  return { chosen: outcome.chosen, answers, outvoted: outcome.outvoted }
}

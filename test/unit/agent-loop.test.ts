import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { ChatChunk, ChatRequest, ToolCallDelta } from '../../src/inference/types'
import { MemoryStore } from '../../src/memory/store'
import { roomIdOf } from '../../src/shared/room-id'
import { generateKeyPair, signerFromKeyPair } from '../../src/shared/sign'
import { toolCallText } from '../../src/shared/tool-calls'
import { runAgent, type AgentDeps, type AgentStep } from '../../src/swarm/agent/loop'

function chunk(delta: ChatChunk['choices'][0]['delta'], finish: ChatChunk['choices'][0]['finish_reason'] = null): ChatChunk {
  return { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'scripted', choices: [{ index: 0, delta, finish_reason: finish }] }
}

/** One model turn: Qwen3's `<tool_call>` text (as an engine without native calls writes it), or native call deltas. */
type Turn = { text: string } | { native: ToolCallDelta[] }

const call = (name: string, args: unknown, thought = ''): Turn => ({ text: `${thought}${thought ? '\n' : ''}${toolCallText(name, JSON.stringify(args))}` })

/**
 * A model that plays `turns` in order (the last one again once they run out) and records every
 * request: a stand-in for the engine in unit tests only; e2e runs the loop on the wasm engine.
 */
function scripted(turns: Turn[], { hangOn }: { hangOn?: number } = {}): { chat: AgentDeps['chat']; requests: ChatRequest[] } {
  const requests: ChatRequest[] = []
  const chat: AgentDeps['chat'] = (request, signal) => {
    requests.push(structuredClone(request))
    const turn = turns[Math.min(requests.length, turns.length) - 1] ?? { text: '' }
    const hang = hangOn === requests.length
    async function* chunks(): AsyncGenerator<ChatChunk> {
      if ('text' in turn) {
        // In pieces, as a stream comes.
        for (let at = 0; at < turn.text.length; at += 7) yield chunk({ content: turn.text.slice(at, at + 7) })
      } else yield chunk({ tool_calls: turn.native })
      if (hang) {
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
        yield chunk({}, 'abort')
        return
      }
      yield chunk({}, 'tool_calls')
    }
    return Promise.resolve(chunks())
  }
  return { chat, requests }
}

interface Recorded {
  steps: AgentStep[]
  added: string[]
  asked: string[]
  confirms: string[]
}

function deps(chat: AgentDeps['chat'], { confirm = true, onConfirm }: { confirm?: boolean; onConfirm?: () => void } = {}): AgentDeps & { record: Recorded } {
  const record: Recorded = { steps: [], added: [], asked: [], confirms: [] }
  return {
    record,
    chat,
    memory: {
      search: (query) =>
        Promise.resolve(query === 'capital' ? [{ id: 'a/1', text: 'The capital is Quuxville', tags: [], author: 'alice', createdAt: 1, updatedAt: 1, trust: 'trusted' as const }] : []),
      add: ({ text }) => {
        record.added.push(text)
        return Promise.resolve(`me/${record.added.length}`)
      },
    },
    confirmAdd: (text) => {
      record.confirms.push(text)
      onConfirm?.()
      return Promise.resolve(confirm)
    },
    askSwarm: (prompt) => {
      record.asked.push(prompt)
      return Promise.resolve(`a peer says: ${prompt.length} characters`)
    },
  }
}

function run(agent: AgentDeps & { record: Recorded }, maxSteps = 6, controller = new AbortController()): ReturnType<typeof runAgent> {
  return runAgent('What is the capital?', agent, { maxSteps, signal: controller.signal, onStep: (step) => agent.record.steps.push(step) })
}

const kinds = (steps: AgentStep[]): string[] => steps.flatMap((step) => (step.kind === 'thought' ? [] : [`${step.kind}:${step.name}`]))

describe('agent loop', () => {
  it('every step is a forced call among the tools and final_answer; a result goes back as a tool message; final_answer ends it', async () => {
    const model = scripted([call('memory_search', { query: 'capital' }, 'I should look it up.'), call('final_answer', { answer: 'Quuxville' })])
    const agent = deps(model.chat)
    expect(await run(agent)).toEqual({ reason: 'answer', answer: 'Quuxville', steps: 2 })
    const [first, second] = model.requests
    expect(first?.tool_choice).toBe('required')
    expect(first?.tools?.map((tool) => tool.function.name)).toEqual(['memory_search', 'memory_add', 'ask_swarm', 'final_answer'])
    expect(first?.messages.map((message) => message.role)).toEqual(['system', 'user'])
    expect(second?.messages.slice(2)).toEqual([
      { role: 'assistant', content: 'I should look it up.', tool_calls: [{ id: 'call_1_0', type: 'function', function: { name: 'memory_search', arguments: '{"query":"capital"}' } }] },
      expect.objectContaining({ role: 'tool', tool_call_id: 'call_1_0' }),
    ])
    // The memory found is quoted as data, with its author and signature.
    expect(second?.messages[3]?.content).toContain('"author":"alice","signature":"verified","text":"The capital is Quuxville"')
    expect(kinds(agent.record.steps)).toEqual(['call:memory_search', 'result:memory_search', 'call:final_answer'])
    expect(agent.record.steps.filter((step) => step.kind === 'thought' && step.step === 1).at(-1)).toEqual({ kind: 'thought', step: 1, text: 'I should look it up.' })
  })

  it('ends at the step limit when the model never answers', async () => {
    const model = scripted([call('ask_swarm', { prompt: 'Anyone?' })])
    const agent = deps(model.chat)
    expect(await run(agent, 3)).toEqual({ reason: 'step-limit', steps: 3 })
    expect(model.requests).toHaveLength(3)
    expect(agent.record.asked).toEqual(['Anyone?', 'Anyone?', 'Anyone?'])
    // Each request carries every step before it.
    expect(model.requests[2]?.messages).toHaveLength(2 + 2 * 2)
  })

  it('bad arguments, an unknown tool and a malformed call are reported to the model; no tool runs on them', async () => {
    const model = scripted([
      call('memory_add', { txt: 'oops' }),
      call('memory_add', { text: '' }),
      call('rm_rf', {}),
      { text: '<tool_call>{"name": "memory_add", "arguments": {"text": "cut off' },
      { native: [{ index: 0, id: 'x', type: 'function', function: { name: 'memory_search', arguments: '{"query": 7}' } }] },
      call('final_answer', { answer: '' }),
      call('final_answer', { answer: 'done' }),
    ])
    const agent = deps(model.chat)
    expect(await run(agent, 10)).toEqual({ reason: 'answer', answer: 'done', steps: 7 })
    expect(agent.record.added).toEqual([])
    expect(agent.record.confirms).toEqual([])
    const results = agent.record.steps.filter((step) => step.kind === 'result')
    expect(results.map((step) => step.ok)).toEqual([false, false, false, false, false, false])
    expect(results[0]?.content).toMatch(/^bad arguments for memory_add/)
    expect(results[2]?.content).toMatch(/no tool named "rm_rf"/)
    expect(results[3]?.content).toMatch(/not well-formed/)
    expect(results[4]?.content).toMatch(/^bad arguments for memory_search: query/)
    const toolMessages = model.requests.at(-1)?.messages.filter((message) => message.role === 'tool') ?? []
    expect(toolMessages.every((message) => message.content.startsWith('error: '))).toBe(true)
    // The malformed call is answered by a user turn (there is no call id to answer).
    expect(model.requests[4]?.messages.at(-1)).toEqual({ role: 'user', content: expect.stringMatching(/^Your tool call was not well-formed JSON/) as unknown })
  })

  it('memory_add asks the user first: confirmed, it is written signed by this node; declined, nothing is written', async () => {
    const signer = await signerFromKeyPair(await generateKeyPair(false))
    const store = new MemoryStore(new Y.Doc(), signer, await roomIdOf('agent', 'key'))
    const model = scripted([call('memory_add', { text: 'Quuxville is on the river Snark' }), call('final_answer', { answer: 'ok' })])
    const confirmed = { ...deps(model.chat), memory: store }
    expect((await run(confirmed)).reason).toBe('answer')
    expect(confirmed.record.confirms).toEqual(['Quuxville is on the river Snark'])
    const [entry] = await store.list()
    expect(entry).toMatchObject({ text: 'Quuxville is on the river Snark', author: signer.nodeId, trust: 'trusted' })
    expect(confirmed.record.steps.find((step) => step.kind === 'result')?.content).toBe(`Added to the room memory as ${entry?.id ?? ''}.`)

    const declined = deps(scripted([call('memory_add', { text: 'Nope' }), call('final_answer', { answer: 'ok' })]).chat, { confirm: false })
    await run(declined)
    expect(declined.record.confirms).toEqual(['Nope'])
    expect(declined.record.added).toEqual([])
    expect(declined.record.steps.find((step) => step.kind === 'result')?.content).toBe('The user declined: nothing was written.')
  })

  it('stop ends the loop: during a step, and while an add waits for the user (nothing is written)', async () => {
    const streaming = new AbortController()
    const slow = scripted([call('ask_swarm', { prompt: 'a' }), call('ask_swarm', { prompt: 'b' })], { hangOn: 2 })
    const hanging = deps(slow.chat)
    const ended = run(hanging, 6, streaming)
    await expect.poll(() => slow.requests.length).toBe(2)
    streaming.abort()
    expect(await ended).toEqual({ reason: 'stopped', steps: 2 })
    expect(hanging.record.asked).toEqual(['a'])

    const confirming = new AbortController()
    const model = scripted([call('memory_add', { text: 'Keep me' })])
    const waiting: AgentDeps & { record: Recorded } = {
      ...deps(model.chat),
      confirmAdd: (_text, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(false), { once: true })),
    }
    const result = run(waiting, 6, confirming)
    await expect.poll(() => waiting.record.steps.some((step) => step.kind === 'call')).toBe(true)
    confirming.abort()
    expect(await result).toEqual({ reason: 'stopped', steps: 1 })
    expect(waiting.record.added).toEqual([])
    expect(model.requests).toHaveLength(1)
  })

  it('reads native tool-call deltas streamed in pieces, and offers only the tools asked for', async () => {
    const model = scripted([
      {
        native: [
          { index: 0, id: 'abc', type: 'function', function: { name: 'final_', arguments: '{"ans' } },
          { index: 0, function: { name: 'answer', arguments: 'wer": "native"}' } },
        ],
      },
    ])
    const agent = deps(model.chat)
    expect(await runAgent('q', agent, { maxSteps: 2, signal: new AbortController().signal, onStep: () => undefined, tools: ['memory_add'] })).toEqual({ reason: 'answer', answer: 'native', steps: 1 })
    expect(model.requests[0]?.tools?.map((tool) => tool.function.name)).toEqual(['memory_add', 'final_answer'])
  })
})

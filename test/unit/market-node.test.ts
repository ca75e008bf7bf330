import { describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import type { Engine } from '../../src/inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../../src/inference/types'
import { chunkFactory } from '../../src/inference/chunks'
import { AbortError } from '../../src/shared/errors'
import { parseToolCalls, toolCallText } from '../../src/shared/tool-calls'
import { TaskFailedError } from '../../src/market/errors'
import { signResult } from '../../src/market/signing'
import type { TaskEvent } from '../../src/market/types'
import { answerOf } from './market-sim/engine'
import { fixedSigner } from './market-sim/keys'
import { room, statusIn, testRoomId } from './market-sim/room'

const request: ChatRequest = { messages: [{ role: 'user', content: 'What is the capital of France?' }], max_tokens: 12 }
const answer = answerOf(request).join(' ')

/** An engine that answers only when the test says so, and records aborts. */
class HeldEngine implements Engine {
  readonly kind = 'wasm' as const
  release: () => void = () => undefined
  aborted = 0
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = (): EngineInfo => ({ kind: 'wasm', modelId: 'sim', contextSize: 4096, availability: 'ready', supports: { tools: false, jsonSchema: false }, prefillTokensPerS: 1000, decodeTokensPerS: 1000 })
  async *chat(_request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    await new Promise<void>((resolve, reject) => {
      this.release = resolve
      signal?.addEventListener('abort', () => (this.aborted++, reject(new AbortError('aborted'))), { once: true })
    })
    yield { id: 'h', object: 'chat.completion.chunk', created: 0, model: 'sim', choices: [{ index: 0, delta: { content: 'held answer' }, finish_reason: 'stop' }] }
  }
}

/** An engine with tools: it says a word, then calls `search`, as an engine's stream does. */
class ToolEngine implements Engine {
  readonly kind = 'wasm' as const
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = (): EngineInfo => ({ kind: 'wasm', modelId: 'sim', contextSize: 4096, availability: 'ready', supports: { tools: true, jsonSchema: false }, prefillTokensPerS: 1000, decodeTokensPerS: 1000 })
  async *chat(): AsyncIterable<ChatChunk> {
    const chunks = chunkFactory('sim')
    yield chunks.content('Calling.', true)
    yield chunks.toolCalls([{ index: 0, id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":' } }])
    yield chunks.toolCalls([{ index: 0, function: { arguments: '"x"}' } }])
    yield await Promise.resolve(chunks.finish('tool_calls'))
  }
}

async function collect(chunks: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> {
  const events: TaskEvent[] = []
  for await (const event of chunks) events.push(event)
  return events
}

const until = async (check: () => boolean, timeoutMs = 3_000) => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('market node', () => {
  it('offloads a task to a peer and streams its output in batches', async () => {
    const { members } = await room([null, 200])
    const [poster, executor] = members as [(typeof members)[0], (typeof members)[0]]
    const handle = poster.market.submit(request)
    const [events, result] = await Promise.all([collect(handle.chunks), handle.result])
    expect(result).toMatchObject({ text: answer, finish: 'stop', executor: executor.signer.nodeId, epoch: 1 })
    expect(events.map((event) => (event.type === 'text' ? event.text : '')).join('')).toBe(answer)
    expect(events.length).toBeLessThan(12)
    await until(() => statusIn(poster.doc, handle.id) === 'done')
    expect(poster.doc.getArray('log').toArray()).toMatchObject([{ taskId: handle.id, status: 'done', executor: executor.signer.nodeId }])
    for (const member of members) {
      expect(member.errors).toEqual([])
      member.market.destroy()
    }
  })

  it('ignores a forged result and accepts the executor’s own', async () => {
    const held = new HeldEngine()
    const { members } = await room([null, held])
    const [poster, executor] = members as [(typeof members)[0], (typeof members)[0]]
    const handle = poster.market.submit(request)
    const done: string[] = []
    poster.market.on('done', (result) => done.push(result.text))
    const tasks = poster.doc.getMap<Y.Map<unknown>>('tasks')
    await until(() => statusIn(poster.doc, handle.id) === 'running')
    const mallory = { signer: await fixedSigner(999), roomId: testRoomId }
    const base = { taskId: handle.id, poster: poster.signer.nodeId, epoch: 1, text: 'forged', finish: 'stop' as const }
    // Claims to be the executor but is signed with Mallory's key; then Mallory as herself.
    const posing = await signResult({ ...base, executor: executor.signer.nodeId, publicKey: mallory.signer.publicKey }, mallory)
    const herself = await signResult({ ...base, executor: mallory.signer.nodeId, publicKey: mallory.signer.publicKey }, mallory)
    // Names the executor and its key, signed by Mallory: only the signature check can tell.
    const { sig } = await signResult({ ...base, executor: mallory.signer.nodeId, publicKey: mallory.signer.publicKey }, mallory)
    const badSignature = { ...base, executor: executor.signer.nodeId, publicKey: executor.signer.publicKey, sig }
    tasks.get(handle.id)?.set('result', posing)
    tasks.get(handle.id)?.set('result', herself)
    tasks.get(handle.id)?.set('result', badSignature)
    // The poster checks the signature as async work: it has started, and the test waits for it to end.
    expect(poster.market.pendingWork).toBeGreaterThan(0)
    await until(() => poster.market.pendingWork === 0)
    expect(done).toEqual([])
    expect(statusIn(poster.doc, handle.id)).toBe('running')
    held.release()
    expect((await handle.result).text).toBe('held answer')
    await until(() => members.every((member) => member.market.pendingWork === 0))
    expect(done).toEqual(['held answer'])
    for (const member of members) member.market.destroy()
  })

  it('re-awards with epoch + 1 when the executor leaves, and tells the consumer to start over', async () => {
    const held = new HeldEngine()
    const { members, live } = await room([null, held, 300])
    const [poster, first, second] = members as [(typeof members)[0], (typeof members)[0], (typeof members)[0]]
    // The held engine bids faster; make sure it wins the first award.
    const handle = poster.market.submit({ ...request, max_tokens: 12 })
    const events = collect(handle.chunks)
    const tasks = poster.doc.getMap<Y.Map<unknown>>('tasks')
    await until(() => statusIn(poster.doc, handle.id) === 'running')
    expect((tasks.get(handle.id)?.get('award') as { executor: string }).executor).toBe(first.signer.nodeId)
    first.market.destroy()
    live.delete(first.signer.nodeId)
    const result = await handle.result
    expect(result).toMatchObject({ epoch: 2, executor: second.signer.nodeId, text: answer })
    expect((await events).filter((event) => event.type === 'restart')).toMatchObject([{ epoch: 2, executor: second.signer.nodeId, reason: 'executor left' }])
    expect(held.aborted).toBe(1)
    for (const member of members) member.market.destroy()
  })

  it('cancel stops the executor and rejects with AbortError', async () => {
    const held = new HeldEngine()
    const { members } = await room([null, held])
    const [poster] = members as [(typeof members)[0]]
    const handle = poster.market.submit(request)
    await until(() => statusIn(poster.doc, handle.id) === 'running')
    handle.cancel()
    await expect(handle.result).rejects.toThrow(AbortError)
    await until(() => held.aborted === 1)
    expect(statusIn(poster.doc, handle.id)).toBe('cancelled')
    for (const member of members) member.market.destroy()
  })

  it('fails with a clear reason when no capable peer bids', async () => {
    const { members } = await room([null, null], { bidWindowMs: 10, leaseMs: 90, noBidTimeoutMs: 100 })
    const handle = (members[0] as (typeof members)[0]).market.submit(request, { engineKinds: ['webgpu'] })
    await expect(handle.result).rejects.toThrow(TaskFailedError)
    await expect(handle.result).rejects.toThrow(/no capable peer bid within 100 ms/)
    for (const member of members) member.market.destroy()
  })

  it("tools: only an engine that supports them bids; its calls travel in the result text in Qwen3's format", async () => {
    const tools = [{ type: 'function' as const, function: { name: 'search' } }]
    const plain = await room([null, 200, 200], { bidWindowMs: 10, leaseMs: 90, noBidTimeoutMs: 100 })
    const refused = (plain.members[0] as (typeof plain.members)[0]).market.submit({ ...request, tools })
    await expect(refused.result).rejects.toThrow(/no capable peer bid within 100 ms/)
    for (const member of plain.members) member.market.destroy()

    const { members } = await room([null, 200, new ToolEngine()])
    const [poster, , withTools] = members as [(typeof members)[0], (typeof members)[0], (typeof members)[0]]
    const handle = poster.market.submit({ ...request, tools })
    const result = await handle.result
    expect(result).toMatchObject({ executor: withTools.signer.nodeId, text: `Calling.\n${toolCallText('search', '{"q":"x"}')}`, finish: 'stop' })
    expect(parseToolCalls(result.text).calls).toEqual([{ name: 'search', arguments: '{"q":"x"}' }])
    for (const member of members) member.market.destroy()
  })

  it('redundant: votes, names the outvoted peer, and lowers its reputation everywhere', async () => {
    const { members } = await room([null, 300, 250, 'faulty'])
    const [poster, , , faulty] = members as [(typeof members)[0], (typeof members)[0], (typeof members)[0], (typeof members)[0]]
    const outcome = await poster.market.redundant(request, 3)
    expect(new Set(outcome.answers.map((a) => a.executor)).size).toBe(3)
    expect(outcome.chosen.text).toBe(answer)
    expect(outcome.outvoted).toEqual([faulty.signer.nodeId])
    await until(() => members.every((member) => member.market.reputation(faulty.signer.nodeId) < 1))
    expect(poster.market.reputation(poster.signer.nodeId)).toBe(1)
    for (const member of members) member.market.destroy()
  })

  it('fanOut maps chunks over peers and reduces the answers', async () => {
    const { members } = await room([null, 400, 400])
    const text = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ')
    const outcome = await (members[0] as (typeof members)[0]).market.fanOut(text, { chunkChars: 60, mapPrompt: 'Summarise.', reducePrompt: 'Combine.' })
    // What splitText makes of the text at 60 chars, and the requests fanOut builds (src/market/jobs.ts).
    const chunks = [
      'word0 word1 word2 word3 word4 word5 word6 word7 word8 word9',
      'word10 word11 word12 word13 word14 word15 word16 word17',
      'word18 word19 word20 word21 word22 word23 word24 word25',
      'word26 word27 word28 word29',
    ]
    const answerTo = (system: string, user: string) =>
      answerOf({
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: user },
        ],
      }).join(' ')
    const mapAnswers = chunks.map((chunk) => answerTo('Summarise.', chunk))
    expect(outcome.parts.map((part) => part.text)).toEqual(mapAnswers)
    const reduceAnswer = answerTo('Combine.', mapAnswers.map((part, index) => `[${index + 1}] ${part}`).join('\n\n'))
    expect(outcome.reduce.text).toBe(reduceAnswer)
    expect(outcome.text).toBe(reduceAnswer)
    const peers = members.slice(1).map((member) => member.signer.nodeId)
    for (const part of outcome.parts) expect(peers).toContain(part.executor)
    expect(peers).toContain(outcome.reduce.executor)
    for (const member of members) member.market.destroy()
  })
})

import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Engine } from '../../src/inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../../src/inference/types'
import { MarketClosedError } from '../../src/market/errors'
import { MarketNode } from '../../src/market/node'
import { endPhases, nextPhases, type PosterPhase } from '../../src/market/poster-phase'
import type { LivePeer, TaskEvent, TaskHandle, Timers } from '../../src/market/types'
import { AbortError } from '../../src/shared/errors'
import type { Signer } from '../../src/shared/sign'
import { fixedSigner } from './market-sim/keys'
import { fastConfig, statusIn, testRoomId } from './market-sim/room'

const request: ChatRequest = { messages: [{ role: 'user', content: 'What is the capital of France?' }], max_tokens: 12 }

/** Real timers that count the ones still pending: a destroyed node must leave none. */
class CountedTimers implements Timers {
  readonly pending = new Set<ReturnType<typeof setTimeout>>()
  setTimeout(callback: () => void, delayMs: number): unknown {
    const handle = setTimeout(() => {
      this.pending.delete(handle)
      callback()
    }, delayMs)
    this.pending.add(handle)
    return handle
  }
  clearTimeout(handle: unknown): void {
    const timer = handle as ReturnType<typeof setTimeout>
    this.pending.delete(timer)
    clearTimeout(timer)
  }
}

/** An engine that answers 'held answer' only when released, and counts the runs aborted. */
class HeldEngine implements Engine {
  readonly kind = 'wasm' as const
  readonly releases: (() => void)[] = []
  running = 0
  aborted = 0
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = (): EngineInfo => ({ kind: 'wasm', modelId: 'sim', contextSize: 4096, availability: 'ready', supports: { tools: false, jsonSchema: false }, prefillTokensPerS: 1000, decodeTokensPerS: 1000 })
  async *chat(_request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    this.running++
    await new Promise<void>((resolve, reject) => {
      let answered = false
      this.releases.push(() => ((answered = true), resolve()))
      signal?.addEventListener('abort', () => answered || (this.aborted++, reject(new AbortError('aborted'))), { once: true })
    })
    yield { id: 'h', object: 'chat.completion.chunk', created: 0, model: 'sim', choices: [{ index: 0, delta: { content: 'held answer' }, finish_reason: 'stop' }] }
  }
}

interface Member {
  doc: Y.Doc
  signer: Signer
  timers: CountedTimers
  market: MarketNode
  errors: unknown[]
}

/** Two docs passing every update at once: a poster without an engine and an executor with a held one. */
async function pair(engine: HeldEngine): Promise<[Member, Member]> {
  const docs = [new Y.Doc(), new Y.Doc()]
  for (const doc of docs)
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      for (const other of docs) if (other !== doc && origin !== other) Y.applyUpdate(other, update, doc)
    })
  const signers = await Promise.all([fixedSigner(300), fixedSigner(301)])
  const executorPeer: LivePeer = {
    nodeId: signers[1].nodeId,
    engine: { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 1000, decodeTokensPerS: 1000 },
    queueLength: 0,
    visible: true,
    linkDelayMs: 1,
  }
  const members = docs.map((doc, index): Member => {
    const signer = signers[index] as Signer
    const timers = new CountedTimers()
    const errors: unknown[] = []
    const market = new MarketNode({
      doc,
      signer,
      roomId: testRoomId,
      engine: index === 1 ? engine : null,
      livePeers: () => (index === 0 ? [executorPeer] : []),
      timers,
      config: { ...fastConfig, noBidTimeoutMs: 60_000, maxQueue: 4 },
      onError: (error) => errors.push(error),
    })
    return { doc, signer, timers, market, errors }
  })
  return members as [Member, Member]
}

const until = async (check: () => boolean, timeoutMs = 3_000) => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** How a promise settled within `withinMs`, or 'pending'. */
function settledWithin(promise: Promise<unknown>, withinMs = 500): Promise<{ ok: unknown } | { error: unknown } | 'pending'> {
  return Promise.race([
    promise.then(
      (ok: unknown) => ({ ok }),
      (error: unknown) => ({ error }),
    ),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), withinMs)),
  ])
}

/** How a task's stream ended within `withinMs`: 'end', its error, or 'pending'. */
async function streamEnd(handle: TaskHandle, withinMs = 500): Promise<'end' | { error: unknown } | 'pending'> {
  const drained = (async () => {
    const events: TaskEvent[] = []
    for await (const event of handle.chunks) events.push(event)
    return 'end' as const
  })()
  const settled = await settledWithin(drained, withinMs)
  return settled === 'pending' ? 'pending' : 'ok' in settled ? 'end' : settled
}

/** The error a settled promise or stream ended with; undefined when it did not fail. */
function errorOf(settled: { ok: unknown } | { error: unknown } | 'pending' | 'end'): unknown {
  return typeof settled === 'object' && 'error' in settled ? settled.error : undefined
}

const listenersOf = (type: { _dEH: { l: unknown[] }; _eH: { l: unknown[] } }): number => type._dEH.l.length + type._eH.l.length

describe('poster phases', () => {
  it('ends are final, and destroy can end a task from every other phase', () => {
    for (const [phase, next] of Object.entries(nextPhases) as [PosterPhase, readonly PosterPhase[]][]) {
      if (endPhases.has(phase)) expect(next, phase).toEqual([])
      else expect(next, phase).toContain('closed')
    }
  })
})

describe('market node destroy', () => {
  it('settles every task it owns, in every phase, aborts runs, and leaves no timer or observer', async () => {
    const engine = new HeldEngine()
    const [poster, executor] = await pair(engine)
    const done = poster.market.submit(request)
    await until(() => engine.releases.length === 1)
    engine.releases[0]?.()
    expect((await done.result).text).toBe('held answer')
    const cancelled = poster.market.submit(request)
    await until(() => statusIn(poster.doc, cancelled.id) === 'running')
    cancelled.cancel()
    await expect(cancelled.result).rejects.toThrow(AbortError)
    await until(() => engine.running === 2 && engine.aborted === 1)
    // Running: awarded, its executor's engine on it.
    const running = poster.market.submit({ ...request, max_tokens: 11 })
    await until(() => statusIn(poster.doc, running.id) === 'running' && engine.running === 3)
    // Bidding: nobody can run it (the only executor's context is too small), so no award comes.
    const bidding = poster.market.submit(request, { contextSize: 1_000_000 })
    await until(() => statusIn(poster.doc, bidding.id) === 'open' && poster.market.pendingWork === 0)
    // Submitted: its spec is still being signed when the node goes.
    const submitting = poster.market.submit(request)
    expect(poster.doc.getMap('tasks').has(submitting.id)).toBe(false)
    const changes: number[] = []
    poster.market.on('change', () => changes.push(1))

    poster.market.destroy()
    executor.market.destroy()

    const open = [running, bidding, submitting]
    for (const handle of open) {
      const settled = await settledWithin(handle.result)
      expect(settled, `task ${handle.id}`).not.toBe('pending')
      expect(errorOf(settled)).toBeInstanceOf(MarketClosedError)
      expect(String(errorOf(settled))).toMatch(/the market is closed/)
      expect(errorOf(await streamEnd(handle))).toBeInstanceOf(MarketClosedError)
    }
    expect(await settledWithin(done.result)).toMatchObject({ ok: { text: 'held answer' } })
    expect(errorOf(await settledWithin(cancelled.result))).toBeInstanceOf(AbortError)
    expect(await streamEnd(done)).toBe('end')
    // The executor's run of the running task was aborted.
    await until(() => engine.aborted === 2)
    await until(() => poster.market.pendingWork === 0 && executor.market.pendingWork === 0)
    for (const member of [poster, executor]) {
      expect(member.timers.pending.size, 'timers left').toBe(0)
      expect(listenersOf(member.doc.getMap('tasks')), 'task observers left').toBe(0)
      expect(listenersOf(member.doc.getArray('log')), 'log observers left').toBe(0)
      expect(listenersOf(member.doc.getArray('ballots')), 'ballot observers left').toBe(0)
      expect(member.errors).toEqual([])
    }
    // The doc is left as it was (a closed tab): the submitted task was never posted, the others stay open.
    expect(poster.doc.getMap('tasks').has(submitting.id)).toBe(false)
    expect(statusIn(poster.doc, running.id)).toBe('running')
    poster.doc.getMap('tasks').delete(bidding.id)
    expect(changes).toEqual([])
    // Destroying twice is harmless; a task submitted after it ends at once.
    poster.market.destroy()
    const late = poster.market.submit(request)
    expect(errorOf(await settledWithin(late.result))).toBeInstanceOf(MarketClosedError)
    expect(errorOf(await streamEnd(late))).toBeInstanceOf(MarketClosedError)
  })

  it('settles a restarted poster’s resumed tasks’ timers, and a task cancelled before it was posted never is', async () => {
    const engine = new HeldEngine()
    const [poster, executor] = await pair(engine)
    const running = poster.market.submit(request)
    await until(() => statusIn(poster.doc, running.id) === 'running')
    poster.market.destroy()
    await expect(running.result).rejects.toThrow(MarketClosedError)
    // The same profile opens the room again: it takes the task up (no promise: nobody waits on it here).
    const timers = new CountedTimers()
    const restarted = new MarketNode({ doc: poster.doc, signer: poster.signer, roomId: testRoomId, engine: null, livePeers: () => [], timers, config: fastConfig })
    const early = restarted.submit(request)
    early.cancel()
    expect(errorOf(await settledWithin(early.result))).toBeInstanceOf(AbortError)
    await until(() => restarted.pendingWork === 0)
    expect(restarted.tasks().map((task) => task.id)).toEqual([running.id])
    expect(timers.pending.size).toBeGreaterThan(0)
    restarted.destroy()
    executor.market.destroy()
    expect(timers.pending.size).toBe(0)
    expect(listenersOf(poster.doc.getMap('tasks'))).toBe(0)
  })
})

describe('market read API', () => {
  it('lists tasks with status, poster, executor, prompt and times, and tells changes', async () => {
    const engine = new HeldEngine()
    const [poster, executor] = await pair(engine)
    let changes = 0
    const stop = poster.market.on('change', () => changes++)
    const handle = poster.market.submit({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'x'.repeat(200) },
      ],
    })
    await until(() => engine.releases.length === 1)
    // The executor's signed lease (what makes an awarded task 'running') is written beside the engine's start, not before it.
    await until(() => poster.market.tasks()[0]?.status === 'running')
    const [task] = poster.market.tasks()
    expect(task).toMatchObject({ id: handle.id, status: 'running', poster: poster.signer.nodeId, executor: executor.signer.nodeId, epoch: 1, promptPreview: 'x'.repeat(80), closedAt: null })
    expect(task?.createdAt).toBeGreaterThan(0)
    expect(changes).toBeGreaterThan(0)
    engine.releases[0]?.()
    await handle.result
    await until(() => poster.market.tasks()[0]?.status === 'done')
    expect(poster.market.tasks()[0]?.closedAt).toBeGreaterThanOrEqual(task?.createdAt ?? 0)
    expect(poster.market.loggedCount()).toBe(1)
    // The executor's market reads the same room.
    expect(executor.market.tasks().map((view) => [view.id, view.status])).toEqual([[handle.id, 'done']])
    stop()
    const seen = changes
    poster.doc.getArray('log').push([{}])
    expect(changes).toBe(seen)
    poster.market.destroy()
    executor.market.destroy()
  })
})

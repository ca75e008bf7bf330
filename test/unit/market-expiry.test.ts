// Tasks of posters that never return: any node deletes them once the expiry their poster signed
// (capped) has passed by its own clock plus the skew margin, and no honest node deletes earlier.
// Mallory, a member with a key of her own, tries to get tasks deleted early or kept for ever.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { ChatRequest } from '../../src/inference/types'
import { MarketNode } from '../../src/market/node'
import type { Spec } from '../../src/market/schema'
import { sign } from '../../src/market/signing'
import { defaultConfig, type Timers } from '../../src/market/types'
import { fixedSigner } from './market-sim/keys'
import { testRoomId } from './market-sim/room'

const request: ChatRequest = { messages: [{ role: 'user', content: 'Who never comes back?' }], max_tokens: 10 }
const { maxLifetimeMs, expirySkewMs } = defaultConfig
/** The most a node's deletion is spread past the due time (expiry.ts). */
const spreadMs = expirySkewMs / 4
const startMs = 1_700_000_000_000

/** Virtual time for every node of a test: timers run in time order as the clock is advanced. */
class ManualTime implements Timers {
  now = startMs
  #seq = 0
  readonly #due = new Map<number, { at: number; callback: () => void }>()
  readonly clock = () => this.now
  setTimeout(callback: () => void, delayMs: number): unknown {
    const handle = ++this.#seq
    this.#due.set(handle, { at: this.now + Math.max(0, delayMs), callback })
    return handle
  }
  clearTimeout(handle: unknown): void {
    this.#due.delete(handle as number)
  }
  /** Runs every timer due up to now + `ms`, letting the nodes' async work (signing, checks) finish after each. */
  async advance(ms: number, nodes: readonly MarketNode[]): Promise<void> {
    const target = this.now + ms
    await settle(nodes)
    for (;;) {
      const next = [...this.#due].sort(([a, x], [b, y]) => x.at - y.at || a - b)[0]
      if (!next || next[1].at > target) break
      this.#due.delete(next[0])
      this.now = next[1].at
      next[1].callback()
      await settle(nodes)
    }
    this.now = target
  }
}

async function settle(nodes: readonly MarketNode[]): Promise<void> {
  do await new Promise<void>((resolve) => setImmediate(resolve))
  while (nodes.some((node) => node.pendingWork > 0))
}

/** Docs that pass every update to each other at once. */
function connectedDocs(count: number): Y.Doc[] {
  const docs = Array.from({ length: count }, () => new Y.Doc())
  for (const doc of docs)
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      for (const other of docs) if (other !== doc && origin !== other) Y.applyUpdate(other, update, doc)
    })
  return docs
}

async function node(doc: Y.Doc, time: ManualTime, key: number): Promise<MarketNode> {
  return new MarketNode({ doc, signer: await fixedSigner(key), roomId: testRoomId, engine: null, livePeers: () => [], clock: time.clock, timers: time, onError: (error) => expect.fail(String(error)) })
}

const specOf = (doc: Y.Doc, taskId: string): Spec => (doc.getMap('tasks').get(taskId) as Y.Map<unknown>).get('spec') as Spec

/** A poster that posts one task and crashes for good, and a bystander; the bystander's doc is returned. */
async function orphanedTask(time: ManualTime): Promise<{ doc: Y.Doc; bystander: MarketNode; taskId: string; spec: Spec }> {
  const [posterDoc, doc] = connectedDocs(2) as [Y.Doc, Y.Doc]
  const poster = await node(posterDoc, time, 700)
  const bystander = await node(doc, time, 701)
  const handle = poster.submit(request)
  handle.result.catch(() => undefined)
  await settle([poster, bystander])
  poster.destroy()
  return { doc, bystander, taskId: handle.id, spec: specOf(doc, handle.id) }
}

async function mallory(): Promise<{ signer: Awaited<ReturnType<typeof fixedSigner>>; roomId: string }> {
  return { signer: await fixedSigner(766), roomId: testRoomId }
}

/** Writes a task as Mallory would: the given spec, no bids, no output. */
function writeTask(doc: Y.Doc, taskId: string, spec: unknown): void {
  const task = new Y.Map<unknown>()
  doc.transact(() => {
    doc.getMap('tasks').set(taskId, task)
    task.set('spec', spec)
  })
}

describe('signed expiry of tasks', () => {
  it('a poster signs an expiry after its deadline and retention; a bystander deletes its task after that expiry plus the skew margin, not before', async () => {
    const time = new ManualTime()
    const { doc, bystander, taskId, spec } = await orphanedTask(time)
    expect(spec.v).toBe(3)
    expect(spec.expiresAt).toBe(spec.createdAt + 60_000 + 10 * 250 + defaultConfig.retainMs)
    await time.advance(spec.expiresAt + expirySkewMs - time.now - 1, [bystander])
    expect(doc.getMap('tasks').has(taskId)).toBe(true)
    await time.advance(spreadMs + 2, [bystander])
    expect(doc.getMap('tasks').has(taskId)).toBe(false)
    bystander.destroy()
  })

  it('a poster back after its task expired does not post it again: the deletion the room made stands', async () => {
    const time = new ManualTime()
    const [posterDoc] = connectedDocs(1) as [Y.Doc]
    const poster = await node(posterDoc, time, 730)
    const handle = poster.submit(request)
    handle.result.catch(() => undefined)
    await settle([poster])
    poster.destroy()
    const { expiresAt } = specOf(posterDoc, handle.id)
    // Back long after (its doc kept the task), it learns of the room's deletion as it resumes.
    time.now = expiresAt + expirySkewMs + spreadMs + 1
    const back = await node(posterDoc, time, 730)
    posterDoc.getMap('tasks').delete(handle.id)
    await time.advance(defaultConfig.bidWindowMs * 4, [back])
    expect(posterDoc.getMap('tasks').has(handle.id)).toBe(false)
    expect(posterDoc.getArray('log').toArray()).toMatchObject([{ taskId: handle.id, status: 'failed' }])
    back.destroy()
  })

  it('a member deleting an unexpired task: its poster puts it back', async () => {
    const time = new ManualTime()
    const [posterDoc, doc] = connectedDocs(2) as [Y.Doc, Y.Doc]
    const poster = await node(posterDoc, time, 710)
    const other = await node(doc, time, 711)
    const handle = poster.submit(request)
    handle.result.catch(() => undefined)
    await settle([poster, other])
    doc.getMap('tasks').delete(handle.id)
    await settle([poster, other])
    expect(doc.getMap('tasks').has(handle.id)).toBe(true)
    expect(specOf(doc, handle.id).sig).toBe(specOf(posterDoc, handle.id).sig)
    poster.destroy()
    other.destroy()
  })

  it('a forged expiry is not honoured: an earlier expiry under the poster’s name, or a spec Mallory signed as someone else', async () => {
    const time = new ManualTime()
    const { doc, bystander, taskId, spec } = await orphanedTask(time)
    const m = await mallory()
    // The poster's spec with an expiry long past: its signature no longer holds.
    const early = { ...spec, expiresAt: spec.createdAt + 1 }
    ;(doc.getMap('tasks').get(taskId) as Y.Map<unknown>).set('spec', early)
    // A task in the bystander's name, signed with Mallory's key.
    const framedId = 'framed-task-1'
    const bystanderId = bystander.nodeId
    const framed = await sign('spec', { ...spec, taskId: framedId, poster: bystanderId, publicKey: m.signer.publicKey, expiresAt: spec.createdAt + 1 }, m)
    writeTask(doc, framedId, framed)
    const seenAt = time.now
    await time.advance(spec.expiresAt + expirySkewMs + spreadMs - time.now + 1_000, [bystander])
    expect(doc.getMap('tasks').has(taskId)).toBe(true)
    expect(doc.getMap('tasks').has(framedId)).toBe(true)
    // Neither is kept for ever: the lifetime cap holds for tasks with no valid spec.
    await time.advance(seenAt + maxLifetimeMs + expirySkewMs + spreadMs - time.now + 1, [bystander])
    expect(doc.getMap('tasks').has(taskId)).toBe(false)
    expect(doc.getMap('tasks').has(framedId)).toBe(false)
    bystander.destroy()
  })

  it('a far-future expiry is capped: maxLifetimeMs after the spec’s createdAt, or after the task was first seen when createdAt is in the future too', async () => {
    const time = new ManualTime()
    const [doc] = connectedDocs(1) as [Y.Doc]
    const bystander = await node(doc, time, 720)
    const m = await mallory()
    const tenYearsMs = 10 * 365 * 24 * 3_600_000
    const base = { v: 3 as const, request, requirements: {}, poster: m.signer.nodeId, publicKey: m.signer.publicKey }
    const seenAt = time.now
    // Posted half a lifetime ago (this node sees it only now), to expire in ten years.
    const createdAt = time.now - maxLifetimeMs / 2
    writeTask(doc, 'forever-task-1', await sign('spec', { ...base, taskId: 'forever-task-1', createdAt, expiresAt: time.now + tenYearsMs }, m))
    // Dated ten years ahead: the cap counts from when this node first saw it.
    writeTask(doc, 'forever-task-2', await sign('spec', { ...base, taskId: 'forever-task-2', createdAt: time.now + tenYearsMs, expiresAt: time.now + 2 * tenYearsMs }, m))
    const tasks = () => [...doc.getMap('tasks').keys()].sort()
    await time.advance(createdAt + maxLifetimeMs + expirySkewMs - time.now - 1, [bystander])
    expect(tasks()).toEqual(['forever-task-1', 'forever-task-2'])
    await time.advance(spreadMs + 2, [bystander])
    expect(tasks()).toEqual(['forever-task-2'])
    await time.advance(seenAt + maxLifetimeMs + expirySkewMs - time.now - 1, [bystander])
    expect(tasks()).toEqual(['forever-task-2'])
    await time.advance(spreadMs + 2, [bystander])
    expect(tasks()).toEqual([])
    bystander.destroy()
  })
})

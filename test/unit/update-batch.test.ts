import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { remoteUpdateDelayMs, scheduleIdle, UpdateBatch, type Schedule, type WriteUpdates } from '../../src/swarm/room/update-batch'

/** A scheduler run by hand: what was scheduled, with its deadline, until `fire`. */
function manualSchedule(): { schedule: Schedule; due: () => number[]; fire: () => void } {
  let tasks: { run: () => void; maxMs: number; cancelled: boolean }[] = []
  return {
    schedule: (run, maxMs) => {
      const task = { run, maxMs, cancelled: false }
      tasks.push(task)
      return () => void (task.cancelled = true)
    },
    due: () => tasks.filter((task) => !task.cancelled).map((task) => task.maxMs),
    fire: () => {
      const now = tasks.filter((task) => !task.cancelled)
      tasks = []
      for (const task of now) task.run()
    },
  }
}

/** A store of written batches; `refuse` makes the next writes fail as a full disk would. */
function store(): { write: WriteUpdates; batches: Uint8Array[][]; refuse: boolean; reload: () => Y.Doc } {
  const kept = {
    batches: [] as Uint8Array[][],
    refuse: false,
    write: (updates: readonly Uint8Array[]) => {
      if (kept.refuse) return Promise.resolve(false)
      kept.batches.push([...updates])
      return Promise.resolve(true)
    },
    reload: () => {
      const doc = new Y.Doc()
      for (const batch of kept.batches) for (const update of batch) Y.applyUpdate(doc, update)
      return doc
    },
  }
  return kept
}

/** An update from a peer: made in another doc, applied here as y-webrtc does. */
function fromPeer(doc: Y.Doc, key: string, value: string): void {
  const peer = new Y.Doc()
  Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc))
  peer.getMap('memory').set(key, value)
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer, Y.encodeStateVector(doc)), 'room')
}

describe('UpdateBatch', () => {
  it("writes a burst of peers' updates in one write, after the update is applied, not in Yjs's update event", async () => {
    const doc = new Y.Doc()
    const kept = store()
    const clock = manualSchedule()
    const batch = new UpdateBatch(doc, kept.write, { schedule: clock.schedule, remoteDelayMs: 200 })
    for (let i = 0; i < 5; i++) fromPeer(doc, `k${i}`, `v${i}`)
    expect(kept.batches).toHaveLength(0)
    expect(batch.pending).toBe(5)
    expect(clock.due()).toEqual([200])
    clock.fire()
    await batch.flush()
    expect(kept.batches.map((b) => b.length)).toEqual([5])
    expect(kept.reload().getMap('memory').toJSON()).toEqual({ k0: 'v0', k1: 'v1', k2: 'v2', k3: 'v3', k4: 'v4' })
  })

  it("writes this tab's own change in the next task, sooner than a peer's", async () => {
    const doc = new Y.Doc()
    const kept = store()
    const clock = manualSchedule()
    const batch = new UpdateBatch(doc, kept.write, { schedule: clock.schedule, remoteDelayMs: 200 })
    fromPeer(doc, 'theirs', '1')
    expect(clock.due()).toEqual([200])
    doc.getMap('memory').set('mine', '2')
    expect(clock.due()).toEqual([0])
    // The sooner deadline stays: a peer's update after it does not push it back.
    fromPeer(doc, 'theirs-too', '3')
    expect(clock.due()).toEqual([0])
    clock.fire()
    await batch.flush()
    expect(kept.batches.map((b) => b.length)).toEqual([3])
  })

  it('flush writes what is queued at once and says whether it was stored; nothing is lost on a reload right after', async () => {
    const doc = new Y.Doc()
    const kept = store()
    const clock = manualSchedule()
    const batch = new UpdateBatch(doc, kept.write, { schedule: clock.schedule })
    for (let i = 0; i < 20; i++) doc.getMap('memory').set(`k${i}`, i)
    expect(await batch.flush()).toBe(true)
    expect(batch.pending).toBe(0)
    expect(clock.due()).toEqual([])
    expect(kept.reload().getMap('memory').size).toBe(20)
  })

  it('after a refused write the next write is the whole doc, so what was refused is stored with it', async () => {
    const doc = new Y.Doc()
    const kept = store()
    const batch = new UpdateBatch(doc, kept.write, { schedule: manualSchedule().schedule })
    doc.getMap('memory').set('before', 1)
    expect(await batch.flush()).toBe(true)
    kept.refuse = true
    doc.getMap('memory').set('refused', 2)
    expect(await batch.flush()).toBe(false)
    kept.refuse = false
    doc.getMap('memory').set('after', 3)
    expect(await batch.flush()).toBe(true)
    expect(kept.batches.map((b) => b.length)).toEqual([1, 1])
    expect(kept.reload().getMap('memory').toJSON()).toEqual({ before: 1, refused: 2, after: 3 })
  })

  it('a refused write is retried on the next flush even with nothing new, and a write that throws counts as refused', async () => {
    const doc = new Y.Doc()
    let throws = true
    const batches: Uint8Array[][] = []
    const batch = new UpdateBatch(
      doc,
      (updates) => {
        if (throws) return Promise.reject(new Error('disk gone'))
        batches.push([...updates])
        return Promise.resolve(true)
      },
      { schedule: manualSchedule().schedule },
    )
    doc.getMap('memory').set('a', 1)
    expect(await batch.flush()).toBe(false)
    throws = false
    expect(await batch.flush()).toBe(true)
    const reloaded = new Y.Doc()
    for (const update of batches.flat()) Y.applyUpdate(reloaded, update)
    expect(reloaded.getMap('memory').get('a')).toBe(1)
  })

  it('writes at once past the pending byte cap (a whole doc in one sync step)', async () => {
    const doc = new Y.Doc()
    const kept = store()
    const clock = manualSchedule()
    const batch = new UpdateBatch(doc, kept.write, { schedule: clock.schedule, maxPendingBytes: 1000 })
    fromPeer(doc, 'big', 'x'.repeat(2000))
    await batch.flush()
    expect(kept.batches).toHaveLength(1)
    expect(clock.due()).toEqual([])
  })

  it('skips updates read from the storage itself, and stop writes what is queued and stops listening', async () => {
    const doc = new Y.Doc()
    const kept = store()
    const source = {}
    const batch = new UpdateBatch(doc, kept.write, { schedule: manualSchedule().schedule, skipOrigin: source })
    const other = new Y.Doc()
    other.getMap('memory').set('loaded', 1)
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other), source)
    expect(batch.pending).toBe(0)
    doc.getMap('memory').set('queued', 2)
    expect(await batch.stop()).toBe(true)
    doc.getMap('memory').set('after-stop', 3)
    expect(batch.pending).toBe(0)
    expect(kept.reload().getMap('memory').toJSON()).toEqual({ queued: 2 })
  })
})

describe('scheduleIdle', () => {
  it("a peer's stream of updates on an idle tab goes a few to a write, not one each, and all of it is stored", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    // An idle tab: an idle callback comes as soon as it is asked for.
    vi.stubGlobal('requestIdleCallback', (run: () => void) => setTimeout(run, 0))
    vi.stubGlobal('cancelIdleCallback', (handle: ReturnType<typeof setTimeout>) => clearTimeout(handle))
    try {
      const doc = new Y.Doc()
      const kept = store()
      const batch = new UpdateBatch(doc, kept.write, { schedule: scheduleIdle })
      // An entry every 40 ms for a second, as the memory bench writes them.
      for (let i = 0; i < 25; i++) {
        fromPeer(doc, `k${i}`, String(i))
        await vi.advanceTimersByTimeAsync(40)
      }
      await vi.advanceTimersByTimeAsync(remoteUpdateDelayMs)
      expect(kept.batches.length).toBeGreaterThan(1)
      expect(kept.batches.length).toBeLessThanOrEqual(Math.ceil((25 * 40) / (remoteUpdateDelayMs / 2)) + 1)
      expect(kept.reload().getMap('memory').toJSON()).toEqual(Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, String(i)])))
      await batch.stop()
    } finally {
      vi.unstubAllGlobals()
      vi.useRealTimers()
    }
  })
})

// patches/yjs+13.6.33.patch: a transaction notes the clients it changes (and their clocks before)
// instead of copying the whole state vector at its start and end, and a remote update that
// applies whole and alone goes on to 'update' listeners as it came instead of encoded again.
// What Yjs tells about a transaction (its update, its events, its undo step, a clientID clash)
// must be what it was.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { mulberry32 } from '../../src/shared/hash'

function docOf(clientID: number): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = clientID
  return doc
}

/** Docs that send each other only what their 'update' events carry, as y-webrtc does. */
function linked(count: number): Y.Doc[] {
  const docs = Array.from({ length: count }, (_, i) => docOf(i + 1))
  for (const doc of docs)
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === 'remote') return
      for (const other of docs) if (other !== doc) Y.applyUpdate(other, update, 'remote')
    })
  return docs
}

describe('the Yjs transaction patch', () => {
  it('keeps docs linked only by update events converged, with observers that write in turn', () => {
    const random = mulberry32(7)
    const docs = linked(5)
    // An observer that writes in its own transaction: the nested transaction's update must go out too.
    for (const [i, doc] of docs.entries())
      doc.getMap('tasks').observe((event) => {
        if (event.transaction.origin === 'remote' && event.keysChanged.has(`ping-${i}`)) doc.getMap('acks').set(`ack-${i}-${random()}`, i)
      })
    for (let step = 0; step < 400; step++) {
      const doc = docs[Math.floor(random() * docs.length)] as Y.Doc
      const choice = random()
      if (choice < 0.3) doc.getMap('tasks').set(`k${Math.floor(random() * 20)}`, step)
      else if (choice < 0.45) doc.getMap('tasks').delete(`k${Math.floor(random() * 20)}`)
      else if (choice < 0.6) doc.getArray('log').insert(0, [step, `entry ${step}`])
      else if (choice < 0.7) doc.getText('text').insert(Math.floor(random() * (doc.getText('text').length + 1)), `t${step}`)
      else if (choice < 0.8)
        doc.transact(() => {
          const nested = new Y.Map<unknown>()
          doc.getMap('tasks').set(`n${step}`, nested)
          nested.set('bid', step)
          doc.getArray('log').push([step])
        })
      else if (choice < 0.9) doc.getMap('tasks').set(`ping-${Math.floor(random() * docs.length)}`, step)
      else if (doc.getArray('log').length > 0) doc.getArray('log').delete(0, 1)
    }
    const states = docs.map((doc) => JSON.stringify([doc.getMap('tasks').toJSON(), doc.getMap('acks').toJSON(), doc.getArray('log').toJSON(), doc.getText('text').toJSON()]))
    for (const state of states) expect(state).toBe(states[0])
    const vectors = docs.map((doc) => [...Y.decodeStateVector(Y.encodeStateVector(doc))].sort(([a], [b]) => a - b))
    for (const vector of vectors) expect(vector).toEqual(vectors[0])
    expect(docs[0]?.getMap('acks').size).toBeGreaterThan(0)
  })

  it("sends in a transaction's update exactly what it added, however many clients the doc holds", () => {
    const doc = docOf(1000)
    for (let client = 1; client <= 50; client++) {
      const other = docOf(client)
      other.getMap('tasks').set(`c${client}`, client)
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(other))
    }
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    doc.getMap('tasks').set('mine', 1)
    expect(updates).toHaveLength(1)
    const decoded = Y.decodeUpdate(updates[0] as Uint8Array)
    expect(decoded.structs.map((struct) => struct.id.client)).toEqual([1000])
    // A remote update of two clients at once is sent on whole, and nothing else with it.
    const a = docOf(2000)
    const b = docOf(3000)
    a.getMap('tasks').set('a', 1)
    b.getMap('tasks').set('b', 2)
    updates.length = 0
    Y.applyUpdate(doc, Y.mergeUpdates([Y.encodeStateAsUpdate(a), Y.encodeStateAsUpdate(b)]))
    expect(new Set(Y.decodeUpdate(updates[0] as Uint8Array).structs.map((struct) => struct.id.client))).toEqual(new Set([2000, 3000]))
    // Nothing new (a duplicate): no update at all.
    updates.length = 0
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(a))
    expect(updates).toHaveLength(0)
    // A delete only: an update with no structs and the deletion.
    doc.getMap('tasks').delete('c7')
    expect(updates).toHaveLength(1)
    const fresh = docOf(4000)
    Y.applyUpdate(fresh, Y.encodeStateAsUpdate(doc))
    expect(fresh.getMap('tasks').has('c7')).toBe(false)
  })

  it('tells events what was added and what was updated, as before', () => {
    const doc = docOf(1)
    const tasks = doc.getMap<number>('tasks')
    tasks.set('old', 1)
    const seen: string[] = []
    tasks.observe((event) => {
      for (const [key, change] of event.changes.keys) seen.push(`${key}:${change.action}`)
    })
    const remote = docOf(2)
    Y.applyUpdate(remote, Y.encodeStateAsUpdate(doc))
    remote.getMap<number>('tasks').set('old', 2)
    remote.getMap<number>('tasks').set('new', 3)
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(remote, Y.encodeStateVector(doc)))
    tasks.delete('new')
    expect(seen.sort()).toEqual(['new:add', 'new:delete', 'old:update'])
  })

  it('undoes a transaction whole', () => {
    const doc = docOf(1)
    const tasks = doc.getMap<number>('tasks')
    const undo = new Y.UndoManager(tasks)
    doc.transact(() => {
      tasks.set('a', 1)
      tasks.set('b', 2)
    })
    undo.stopCapturing()
    tasks.set('c', 3)
    undo.undo()
    expect(tasks.toJSON()).toEqual({ a: 1, b: 2 })
    undo.undo()
    expect(tasks.toJSON()).toEqual({})
  })

  it('still picks a new clientID when a remote update writes as this doc', () => {
    const doc = docOf(42)
    doc.getMap('tasks').set('x', 1)
    const impostor = docOf(43)
    Y.applyUpdate(impostor, Y.encodeStateAsUpdate(doc))
    // It takes the clientID after the sync: had it held it then, it would have changed its own.
    impostor.clientID = 42
    impostor.getMap('tasks').set('y', 2)
    // Only this doc's own changes arriving from afar: another writer has its clientID.
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(impostor, Y.encodeStateVector(doc)), 'remote')
    expect(doc.clientID).not.toBe(42)
    // Remote changes by others leave it alone.
    const id = doc.clientID
    const other = docOf(7)
    other.getMap('tasks').set('z', 3)
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other), 'remote')
    expect(doc.clientID).toBe(id)
  })
})

/** What `doc` emits as 'update' while `f` runs. */
function emitted(doc: Y.Doc, f: () => void): Uint8Array[] {
  const updates: Uint8Array[] = []
  const listener = (update: Uint8Array): void => void updates.push(update)
  doc.on('update', listener)
  try {
    f()
  } finally {
    doc.off('update', listener)
  }
  return updates
}

function clientsOf(update: Uint8Array): number[] {
  return [...new Set(Y.decodeUpdate(update).structs.map((struct) => struct.id.client))].sort((a, b) => a - b)
}

describe('a remote update that applies whole', () => {
  it('goes on to update listeners as it came, in a copy of its bytes', () => {
    const writer = docOf(1)
    writer.getMap('tasks').set('gone', 0)
    writer.getMap('tasks').delete('gone')
    const reader = docOf(2)
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(writer))
    // New structs together with a deletion the reader already has: encoded again, the update
    // would carry an empty delete set; as it came, it carries the deletion too.
    const [fresh] = emitted(writer, () => writer.getMap('tasks').set('k', 1))
    const incoming = Y.mergeUpdates([fresh as Uint8Array, Y.encodeStateAsUpdate(writer, Y.encodeStateVector(writer))])
    expect(Y.decodeUpdate(incoming).ds.clients.size).toBe(1)
    const buffer = new Uint8Array([9, 9, ...incoming, 9]).subarray(2, 2 + incoming.length)
    const out = emitted(reader, () => Y.applyUpdate(reader, buffer, 'remote'))
    expect(out).toHaveLength(1)
    expect([...(out[0] as Uint8Array)]).toEqual([...incoming])
    expect((out[0] as Uint8Array).byteLength).toBe((out[0] as Uint8Array).buffer.byteLength)
    buffer.fill(0)
    expect([...(out[0] as Uint8Array)]).toEqual([...incoming])
    expect(reader.getMap('tasks').toJSON()).toEqual({ k: 1 })
  })

  it('is encoded again when part of it was known: listeners get only what is new', () => {
    const a = docOf(1)
    const b = docOf(2)
    a.getMap('tasks').set('a', 1)
    b.getMap('tasks').set('b', 2)
    const reader = docOf(3)
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(a))
    const both = Y.mergeUpdates([Y.encodeStateAsUpdate(a), Y.encodeStateAsUpdate(b)])
    const [out] = emitted(reader, () => Y.applyUpdate(reader, both, 'remote'))
    expect(clientsOf(out as Uint8Array)).toEqual([2])
    // Part of one client's run known: again only the rest.
    a.getMap('tasks').set('a2', 3)
    const [later] = emitted(reader, () => Y.applyUpdate(reader, Y.encodeStateAsUpdate(a), 'remote'))
    expect(Y.decodeUpdate(later as Uint8Array).structs.map((struct) => struct.id.clock)).toEqual([1])
  })

  it('is encoded again when bytes trail it or a client is listed twice', () => {
    const a = docOf(1)
    a.getMap('tasks').set('a', 1)
    const update = Y.encodeStateAsUpdate(a)
    const reader = docOf(2)
    const [out] = emitted(reader, () => Y.applyUpdate(reader, new Uint8Array([...update, 7, 7, 7]), 'remote'))
    expect([...(out as Uint8Array)]).toEqual([...update])
    // The same client's run twice (its header says two, the second replaces the first when read).
    const section = update.subarray(1, update.length - 1)
    const twice = new Uint8Array([2, ...section, ...section, 0])
    const other = docOf(3)
    const [again] = emitted(other, () => Y.applyUpdate(other, twice, 'remote'))
    expect([...(again as Uint8Array)]).toEqual([...update])
    expect(other.getMap('tasks').toJSON()).toEqual({ a: 1 })
  })

  it('is encoded again with what else its transaction did', () => {
    const a = docOf(1)
    a.getMap('tasks').set('a', 1)
    const reader = docOf(2)
    const [out] = emitted(reader, () =>
      reader.transact(() => {
        Y.applyUpdate(reader, Y.encodeStateAsUpdate(a), 'remote')
        reader.getMap('tasks').set('mine', 2)
      }),
    )
    expect(clientsOf(out as Uint8Array)).toEqual([1, 2])
  })

  it('waits with what it needs, then goes on encoded with it', () => {
    const a = docOf(1)
    const first = emitted(a, () => a.getMap('tasks').set('a', 1))[0] as Uint8Array
    const second = emitted(a, () => a.getMap('tasks').set('a', 2))[0] as Uint8Array
    const reader = docOf(2)
    const mirror = docOf(3)
    reader.on('update', (update: Uint8Array) => Y.applyUpdate(mirror, update))
    expect(emitted(reader, () => Y.applyUpdate(reader, second, 'remote'))).toHaveLength(0)
    const [out] = emitted(reader, () => Y.applyUpdate(reader, first, 'remote'))
    expect(Y.decodeUpdate(out as Uint8Array).structs.map((struct) => struct.id.clock)).toEqual([0, 1])
    expect(mirror.getMap('tasks').toJSON()).toEqual({ a: 2 })
    // A delete of something the reader lacks waits too, and nothing goes on until it applies.
    const gone = docOf(4)
    gone.getMap('tasks').set('g', 1)
    const deletion = emitted(gone, () => gone.getMap('tasks').delete('g'))[0] as Uint8Array
    expect(emitted(reader, () => Y.applyUpdate(reader, deletion, 'remote'))).toHaveLength(0)
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(gone), 'remote')
    expect(mirror.getMap('tasks').toJSON()).toEqual({ a: 2 })
    expect(reader.getMap('tasks').toJSON()).toEqual({ a: 2 })
  })
})

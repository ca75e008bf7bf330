// patches/yjs+13.6.33.patch: a plain value (ContentAny) that comes in an update is kept as the
// bytes that encode it and decoded when something first reads it. A market node applies every
// task's bids, batches and results but reads only what concerns it, so the rest is never decoded.
// What a doc reads, writes, merges and refuses must be what stock Yjs does.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'

/** Every kind of value lib0 encodes, nested. */
const values = {
  text: 'héllo wörld ✓',
  empty: '',
  int: -123456,
  big: 2 ** 40,
  float: 2.5,
  bigint: 12345678901234567n,
  flags: [true, false, null],
  bytes: new Uint8Array([0, 1, 255]),
  nested: { a: [{ b: 'c' }, [], {}], 'key with spaces': 1 },
}

function docOf(clientID: number): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = clientID
  return doc
}

/** How the patched ContentAny holds its values: decoded (an array) or still as bytes (null). */
function decodedOf(map: Y.Map<unknown>, key: string): unknown {
  const item = map._map.get(key)
  if (!item || !(item.content instanceof Y.ContentAny)) throw new Error(`no plain value under ${key}`)
  return (item.content as unknown as { _arr: unknown[] | null })._arr
}

function docOfUpdate(update: Uint8Array): Y.Doc {
  const doc = docOf(99)
  Y.applyUpdate(doc, update)
  return doc
}

function sent(write: (doc: Y.Doc) => void): { from: Y.Doc; update: Uint8Array } {
  const from = docOf(1)
  write(from)
  return { from, update: Y.encodeStateAsUpdate(from) }
}

describe('plain values from a remote update', () => {
  it('are kept as bytes until read, then decoded once: every read gets the same object', () => {
    const { update } = sent((doc) => doc.getMap('m').set('k', values))
    const to = docOf(2)
    Y.applyUpdate(to, update)
    const map = to.getMap('m')
    expect(decodedOf(map, 'k')).toBeNull()
    const read = map.get('k')
    expect(read).toEqual(values)
    expect(map.get('k')).toBe(read)
    expect(map.toJSON()['k']).toBe(read)
    expect(decodedOf(map, 'k')).toEqual([values])
  })

  it('read the same through V1 and V2 updates, and encode to the same bytes as the sender', () => {
    const { from } = sent((doc) => {
      doc.getMap('m').set('k', values)
      doc.getArray('a').insert(0, [1, 'two', { three: 3 }, values])
    })
    for (const [encode, apply] of [
      [Y.encodeStateAsUpdate, Y.applyUpdate],
      [Y.encodeStateAsUpdateV2, Y.applyUpdateV2],
    ] as const) {
      const to = docOf(2)
      apply(to, encode(from))
      // Written back before anything read it: its bytes go out as they came.
      expect(encode(to)).toEqual(encode(from))
      expect(Y.encodeStateAsUpdateV2(to)).toEqual(Y.encodeStateAsUpdateV2(from))
      expect(to.getMap('m').get('k')).toEqual(values)
      expect(to.getArray('a').toArray()).toEqual([1, 'two', { three: 3 }, values])
      expect(encode(to)).toEqual(encode(from))
    }
  })

  // Stock Yjs keeps a Uint8Array value as a view into the update's buffer; kept bytes are a copy.
  it('keep their own copy of the bytes: the buffer the update came in may be reused', () => {
    const { update } = sent((doc) => doc.getMap('m').set('k', values))
    const to = docOf(2)
    Y.applyUpdate(to, update)
    update.fill(0)
    expect(to.getMap('m').get('k')).toEqual(values)
  })

  it('split, merge and encode from an offset as stock values do', () => {
    const from = docOf(1)
    from.getArray('a').insert(0, ['a', 'b'])
    const firstTwo = Y.encodeStateAsUpdate(from)
    from.getArray('a').insert(2, ['c', 'd'])
    const to = docOf(2)
    Y.applyUpdate(to, Y.encodeStateAsUpdate(from))
    // A peer that holds the first two values asks for the rest: the item is written from an offset.
    const reader = docOf(3)
    Y.applyUpdate(reader, firstTwo)
    const rest = Y.encodeStateAsUpdate(to, Y.encodeStateVector(reader))
    Y.applyUpdate(reader, rest)
    expect(reader.getArray('a').toArray()).toEqual(['a', 'b', 'c', 'd'])
    expect(rest).toEqual(Y.encodeStateAsUpdate(from, Y.encodeStateVector(docOfUpdate(firstTwo))))
    // A local insert in the middle splits the remote item.
    to.getArray('a').insert(2, ['x'])
    expect(to.getArray('a').toArray()).toEqual(['a', 'b', 'x', 'c', 'd'])
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(to, Y.encodeStateVector(reader)))
    expect(reader.getArray('a').toArray()).toEqual(['a', 'b', 'x', 'c', 'd'])
    // Merged and diffed updates carry the values.
    const merged = Y.mergeUpdates([firstTwo, Y.encodeStateAsUpdate(to, Y.encodeStateVectorFromUpdate(firstTwo))])
    const fromMerged = docOf(4)
    Y.applyUpdate(fromMerged, merged)
    expect(fromMerged.getArray('a').toArray()).toEqual(['a', 'b', 'x', 'c', 'd'])
    const diffed = docOf(5)
    Y.applyUpdate(diffed, firstTwo)
    Y.applyUpdate(diffed, Y.diffUpdate(merged, Y.encodeStateVector(diffed)))
    expect(diffed.getArray('a').toArray()).toEqual(['a', 'b', 'x', 'c', 'd'])
  })

  it('that cannot be read are refused when the update is applied, not when read', () => {
    const { update } = sent((doc) => doc.getMap('m').set('k', 'abcdef'))
    // The value's type byte (119: a string) followed by its length (6) and its bytes.
    const at = update.findIndex((byte, i) => byte === 119 && update[i + 1] === 6 && update[i + 2] === 'a'.charCodeAt(0))
    expect(at).toBeGreaterThan(0)
    const unknownType = update.slice()
    unknownType[at] = 3
    expect(() => Y.applyUpdate(docOf(2), unknownType)).toThrow()
    // A string said to run past the end of the update.
    const pastTheEnd = update.slice()
    pastTheEnd[at + 1] = 100
    expect(() => Y.applyUpdate(docOf(2), pastTheEnd)).toThrow()
  })
})

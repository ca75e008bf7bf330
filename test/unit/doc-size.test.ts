import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { DocSize, docSizeIntervalMs, formatBytes } from '../../src/swarm/room/doc-size'

describe('the room doc’s size', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('is measured at start, then at most once per interval while the doc changes, not per update', () => {
    vi.useFakeTimers()
    const doc = new Y.Doc()
    doc.getMap('memory').set('a', 'first')
    const told: number[] = []
    const size = new DocSize(doc, (bytes) => told.push(bytes))
    expect(size.bytes).toBe(Y.encodeStateAsUpdate(doc).byteLength)
    const before = size.bytes
    for (let i = 0; i < 100; i++) doc.getMap('memory').set(`k${i}`, 'x'.repeat(50))
    expect(size.bytes).toBe(before)
    vi.advanceTimersByTime(docSizeIntervalMs - 1)
    expect(told).toEqual([])
    vi.advanceTimersByTime(1)
    expect(told).toEqual([Y.encodeStateAsUpdate(doc).byteLength])
    expect(size.bytes).toBeGreaterThan(before + 100 * 50)
    size.stop()
    doc.getMap('memory').set('after', 'stop')
    vi.advanceTimersByTime(docSizeIntervalMs * 2)
    expect(told).toHaveLength(1)
  })

  it('reads as the swarm view shows it', () => {
    expect([formatBytes(812), formatBytes(14_540), formatBytes(3_250_000)]).toEqual(['812 B', '14.2 KB', '3.1 MB'])
  })
})

import { describe, expect, it } from 'vitest'
import { PhaseTimes } from '../../src/shared/phases'

describe('PhaseTimes', () => {
  it('counts, totals and takes percentiles of what it was told', () => {
    const phases = new PhaseTimes<'a' | 'b'>()
    for (let ms = 1; ms <= 100; ms++) phases.add('a', ms)
    phases.add('b', 3)
    const figures = phases.snapshot()
    expect(figures.a).toEqual({ count: 100, totalMs: 5050, p50Ms: 50, p95Ms: 95 })
    expect(figures.b?.count).toBe(1)
    phases.reset()
    expect(phases.snapshot()).toEqual({})
  })

  it('keeps the recent samples only, but counts all', () => {
    const phases = new PhaseTimes()
    for (let i = 0; i < 5_000; i++) phases.add('x', i < 4_000 ? 1_000 : 1)
    const x = phases.snapshot().x
    expect(x?.count).toBe(5_000)
    expect(x?.p95Ms).toBe(1)
  })

  it('times what throws, and what rejects', async () => {
    const phases = new PhaseTimes()
    expect(() =>
      phases.time('t', () => {
        throw new Error('no')
      }),
    ).toThrow('no')
    await expect(phases.timeAsync('u', () => Promise.reject(new Error('no')))).rejects.toThrow('no')
    expect(phases.snapshot().t?.count).toBe(1)
    expect(phases.snapshot().u?.count).toBe(1)
  })

  it('marks the first time a key reaches a point, on the shared clock, for a bounded number of keys', () => {
    const phases = new PhaseTimes()
    const before = performance.timeOrigin + performance.now()
    phases.mark('entry-1', 'seen')
    const first = phases.marks()['entry-1']?.seen ?? 0
    phases.mark('entry-1', 'seen')
    phases.mark('entry-1', 'accepted')
    expect(first).toBeGreaterThanOrEqual(before)
    expect(phases.marks()['entry-1']).toEqual({ seen: first, accepted: expect.any(Number) as number })
    for (let i = 0; i < 3_000; i++) phases.mark(`key-${i}`, 'seen')
    const kept = Object.keys(phases.marks())
    expect(kept).toHaveLength(2_048)
    expect(kept).not.toContain('entry-1')
    expect(kept).toContain('key-2999')
    phases.reset()
    expect(phases.marks()).toEqual({})
  })
})

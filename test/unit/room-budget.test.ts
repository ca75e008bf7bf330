import { describe, expect, test } from 'vitest'
import { BudgetGuard, type Drop } from '../../src/swarm/room/budget'

const kib = 1024
const bytes = (count: number): Uint8Array => new Uint8Array(count)

describe("a room's budget on what each peer sends (the y-webrtc guard)", () => {
  test('a message over the per-message cap is dropped before Yjs reads it, and counted', () => {
    const drops: Drop[] = []
    const guard = new BudgetGuard(
      { messageBytes: 64 * kib, peerBytesPerMinute: 1024 * kib },
      (drop) => drops.push(drop),
      () => 0,
    )
    expect(guard.admit('peer-a', bytes(64 * kib))).toBe(true)
    expect(guard.admit('peer-a', bytes(64 * kib + 1))).toBe(false)
    expect(drops).toEqual([{ reason: 'oversized', peer: 'peer-a', bytes: 64 * kib + 1 }])
    expect(guard.drops()).toMatchObject({ oversized: 1, overBudget: 0, byPeer: { 'peer-a': 1 } })
  })

  test('a peer past its bytes per minute is dropped while another peer still gets through; the budget refills with time', () => {
    let now = 0
    const guard = new BudgetGuard({ messageBytes: 64 * kib, peerBytesPerMinute: 256 * kib }, undefined, () => now)
    let admitted = 0
    for (let i = 0; i < 10; i++) if (guard.admit('flooder', bytes(64 * kib))) admitted++
    expect(admitted).toBe(4)
    expect(guard.admit('honest', bytes(64 * kib))).toBe(true)
    expect(guard.drops()).toMatchObject({ overBudget: 6, bytes: 6 * 64 * kib, byPeer: { flooder: 6 } })
    // A quarter of a minute later, a quarter of the budget is back: one more message.
    now += 15_000
    expect(guard.admit('flooder', bytes(64 * kib))).toBe(true)
    expect(guard.admit('flooder', bytes(64 * kib))).toBe(false)
    // Never more than a minute's worth saved up.
    now += 3_600_000
    admitted = 0
    for (let i = 0; i < 10; i++) if (guard.admit('flooder', bytes(64 * kib))) admitted++
    expect(admitted).toBe(4)
  })

  test("malformed messages y-webrtc could not read are counted and told with where they came from; a listener's throw changes nothing", () => {
    const told: Drop[] = []
    const guard = new BudgetGuard(undefined, (drop) => {
      told.push(drop)
      throw new Error('listener failed')
    })
    guard.dropped('peer', new RangeError('bad sync message'))
    guard.dropped('signaling', new DOMException('undecryptable', 'OperationError'))
    expect(guard.drops()).toMatchObject({ malformed: 2 })
    expect(told.map(({ where, error }) => [where, error])).toEqual([
      ['peer', 'RangeError'],
      ['signaling', 'OperationError'],
    ])
    expect(guard.admit('x', bytes(10))).toBe(true)
  })
})

// The page renews its TURN credentials at 80 % of their lifetime, retries a failed renewal
// sooner, and stops for good when told.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { keepNetFresh } from '../../src/swarm/room/net-refresh'
import type { LoadedNetConfig } from '../../src/swarm/room/net-config'
import type { NetConfig } from '../../src/shared/net-config'
import { refreshDelayMs } from '../../src/shared/net-config'

const configAt = (expiresAt: number | null, user: string): NetConfig => ({
  v: 1,
  iceServers: [{ urls: 'turn:127.0.0.1:3478', username: user, credential: 'c' }],
  expiresAt,
  turn: true,
  signalingUrls: ['ws://127.0.0.1:1/signal'],
})

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(1_000_000)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('keepNetFresh', () => {
  it('asks again at 80 % of the lifetime and gives the new ICE servers to new links, then again for the next', async () => {
    const applied: string[] = []
    let round = 0
    const reload = vi.fn((): Promise<LoadedNetConfig> => {
      round++
      return Promise.resolve({ config: configAt(Date.now() + 100_000, `u${round}`), source: 'relay', problem: null })
    })
    const stop = keepNetFresh({ initial: configAt(1_000_000 + 100_000, 'u0'), reload, apply: (config) => applied.push(config.iceServers[0]?.username ?? ''), onProblem: () => undefined })
    await vi.advanceTimersByTimeAsync(79_999)
    expect(reload).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(applied).toEqual(['u1'])
    await vi.advanceTimersByTimeAsync(80_000)
    expect(applied).toEqual(['u1', 'u2'])
    stop()
    await vi.advanceTimersByTimeAsync(1_000_000)
    expect(reload).toHaveBeenCalledTimes(2)
  })

  it('tells a failed renewal, keeps the old servers and retries within 30 s; nothing expires: never asks', async () => {
    const problems: string[] = []
    const applied: string[] = []
    const answers: LoadedNetConfig[] = [
      { config: configAt(null, 'fallback'), source: 'fallback', problem: 'the relay answered 429 for /net.json' },
      { config: configAt(Date.now() + 10_000_000, 'u2'), source: 'relay', problem: null },
    ]
    const last: LoadedNetConfig = { config: configAt(null, 'last'), source: 'relay', problem: null }
    const reload = vi.fn(() => Promise.resolve(answers.shift() ?? last))
    const stop = keepNetFresh({
      initial: configAt(1_000_000 + 1_000_000, 'u0'),
      reload,
      apply: (config) => applied.push(config.iceServers[0]?.username ?? ''),
      onProblem: (problem) => problems.push(problem),
    })
    await vi.advanceTimersByTimeAsync(800_000)
    expect(problems).toEqual(['could not renew the TURN credentials: the relay answered 429 for /net.json'])
    expect(applied).toEqual([])
    await vi.advanceTimersByTimeAsync(30_000)
    expect(applied).toEqual(['u2'])
    stop()

    const never = vi.fn(() => Promise.resolve(last))
    keepNetFresh({ initial: configAt(null, 'x'), reload: never, apply: () => undefined, onProblem: () => undefined })()
    await vi.advanceTimersByTimeAsync(10 ** 9)
    expect(never).not.toHaveBeenCalled()
    expect(refreshDelayMs(Date.now() - 5, Date.now())).toBe(5_000)
  })
})

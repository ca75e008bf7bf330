// The circuit breaker of one upstream, on a clock the test moves: closed → open after the
// threshold of consecutive failures, skipped while open, one probe at a time when half-open,
// closed by the probe's success, opened again for twice as long by its failure (capped).
import { describe, expect, it } from 'vitest'
import { createBreaker } from '../../src/relay/v1/breaker'

const settings = { failureThreshold: 3, cooldownMs: 1_000, maxCooldownMs: 4_000 }

function clocked(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000_000
  return { now: () => at, advance: (ms) => (at += ms) }
}

function fail(breaker: ReturnType<typeof createBreaker>, times: number, reason = 'upstream answered 500'): void {
  for (let index = 0; index < times; index += 1) {
    const trial = breaker.admit()
    if (trial === null) throw new Error('the breaker refused a trial it should have let through')
    trial.failed(reason)
  }
}

describe('the upstream circuit breaker', () => {
  it('stays closed below the threshold, and a success resets the count', () => {
    const clock = clocked()
    const breaker = createBreaker(settings, clock.now)
    fail(breaker, 2)
    expect(breaker.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 2, openedAt: null, nextProbeAt: null, lastError: 'upstream answered 500' })
    breaker.admit()?.succeeded()
    fail(breaker, 2)
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 2 })
  })

  it('opens at the threshold and skips its upstream for the cooldown', () => {
    const clock = clocked()
    const breaker = createBreaker(settings, clock.now)
    fail(breaker, 3)
    expect(breaker.snapshot()).toEqual({ state: 'open', consecutiveFailures: 3, openedAt: 1_000_000, nextProbeAt: 1_001_000, lastError: 'upstream answered 500' })
    expect(breaker.admit()).toBeNull()
    clock.advance(400)
    expect(breaker.admit()).toBeNull()
    expect(breaker.waitMs()).toBe(600)
  })

  it('lets one probe through when half-open; its success closes the breaker', () => {
    const clock = clocked()
    const breaker = createBreaker(settings, clock.now)
    fail(breaker, 3)
    clock.advance(1_000)
    expect(breaker.snapshot().state).toBe('half-open')
    const probe = breaker.admit()
    expect(probe).not.toBeNull()
    // The probe is out: everyone else still skips the upstream.
    expect(breaker.admit()).toBeNull()
    probe?.succeeded()
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0, openedAt: null, nextProbeAt: null })
    expect(breaker.admit()).not.toBeNull()
  })

  it('opens again for twice the cooldown when the probe fails, up to the maximum', () => {
    const clock = clocked()
    const breaker = createBreaker(settings, clock.now)
    fail(breaker, 3)
    const cooldowns: number[] = []
    for (let round = 0; round < 4; round += 1) {
      clock.advance(breaker.waitMs())
      fail(breaker, 1, `probe ${round} failed`)
      const { openedAt, nextProbeAt } = breaker.snapshot()
      cooldowns.push((nextProbeAt ?? 0) - (openedAt ?? 0))
    }
    expect(cooldowns).toEqual([2_000, 4_000, 4_000, 4_000])
    expect(breaker.snapshot()).toMatchObject({ state: 'open', consecutiveFailures: 7, lastError: 'probe 3 failed' })
    // A probe's success after all that starts over from the first cooldown.
    clock.advance(4_000)
    breaker.admit()?.succeeded()
    fail(breaker, 3)
    expect((breaker.snapshot().nextProbeAt ?? 0) - (breaker.snapshot().openedAt ?? 0)).toBe(1_000)
  })

  it('frees the probe slot when the probe is abandoned (its client went away)', () => {
    const clock = clocked()
    const breaker = createBreaker(settings, clock.now)
    fail(breaker, 3)
    clock.advance(1_000)
    breaker.admit()?.abandoned()
    expect(breaker.snapshot().state).toBe('half-open')
    expect(breaker.admit()).not.toBeNull()
  })

  it('counts a stream that broke after it started, and settles each trial once', () => {
    const breaker = createBreaker(settings, clocked().now)
    const trial = breaker.admit()
    trial?.succeeded()
    trial?.failed('twice')
    breaker.failed('upstream stream broke')
    breaker.failed('upstream stream broke')
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 2, lastError: 'upstream stream broke' })
    breaker.failed('upstream stream broke')
    expect(breaker.snapshot().state).toBe('open')
  })
})

// A circuit breaker for one upstream. Closed: every request may go. After `failureThreshold`
// consecutive failures it opens for a cooldown: requests skip the upstream. When the cooldown
// has passed it is half-open: one request at a time is let through as a probe; its success
// closes the breaker, its failure opens it again for twice the cooldown (up to the maximum).
// No timers: the state moves when it is asked, by the injected clock.
import type { BreakerSettings } from './upstream-config'

export type BreakerState = 'closed' | 'open' | 'half-open'

/** What /healthz shows of a breaker; times in ms since the epoch. */
export interface BreakerSnapshot {
  state: BreakerState
  consecutiveFailures: number
  /** When it last opened; null while closed. */
  openedAt: number | null
  /** When a request may next probe the upstream; null while closed. */
  nextProbeAt: number | null
  lastError: string | null
}

/** One admitted request's outcome: exactly one of these, once. */
export interface Trial {
  /** The upstream answered (a stream started, or it refused the request as the client's fault). */
  succeeded(): void
  failed(reason: string): void
  /** No verdict (the client went away first). */
  abandoned(): void
}

export interface Breaker {
  /** A trial for a request, or null: skip this upstream (open, or half-open with a probe out). */
  admit(): Trial | null
  /** A failure outside a trial: a stream that broke after it had started. */
  failed(reason: string): void
  /** Milliseconds until a request may probe it again; 0 when one may now. */
  waitMs(): number
  snapshot(): BreakerSnapshot
}

type Phase = { kind: 'closed' } | { kind: 'open'; openedAtMs: number; probeAtMs: number; cooldownMs: number; probing: boolean }

export function createBreaker(settings: BreakerSettings, now: () => number = Date.now): Breaker {
  let phase: Phase = { kind: 'closed' }
  let consecutiveFailures = 0
  let lastError: string | null = null

  const open = (cooldownMs: number): void => {
    const at = now()
    phase = { kind: 'open', openedAtMs: at, probeAtMs: at + cooldownMs, cooldownMs, probing: false }
  }

  const state = (): BreakerState => {
    if (phase.kind === 'closed') return 'closed'
    return now() >= phase.probeAtMs ? 'half-open' : 'open'
  }

  const recordFailure = (reason: string, probe: boolean): void => {
    consecutiveFailures += 1
    lastError = reason
    if (phase.kind === 'closed') {
      if (consecutiveFailures >= settings.failureThreshold) open(settings.cooldownMs)
    } else if (probe) {
      open(Math.min(phase.cooldownMs * 2, settings.maxCooldownMs))
    }
  }

  const trial = (probe: boolean): Trial => {
    let settled = false
    const settle = (action: () => void): void => {
      if (settled) return
      settled = true
      if (probe && phase.kind === 'open') phase.probing = false
      action()
    }
    return {
      succeeded: () =>
        settle(() => {
          // Any answer shows the upstream works, the probe's or a request's that began earlier.
          consecutiveFailures = 0
          phase = { kind: 'closed' }
        }),
      failed: (reason) => settle(() => recordFailure(reason, probe)),
      abandoned: () => settle(() => undefined),
    }
  }

  return {
    admit() {
      if (phase.kind === 'closed') return trial(false)
      if (state() === 'open' || phase.probing) return null
      phase.probing = true
      return trial(true)
    },
    failed: (reason) => recordFailure(reason, false),
    waitMs: () => (phase.kind === 'closed' ? 0 : Math.max(0, phase.probeAtMs - now())),
    snapshot: () => ({
      state: state(),
      consecutiveFailures,
      openedAt: phase.kind === 'closed' ? null : phase.openedAtMs,
      nextProbeAt: phase.kind === 'closed' ? null : phase.probeAtMs,
      lastError,
    }),
  }
}

// Keeps the page's TURN credentials fresh: /net.json is asked again at 80 % of their lifetime
// and the new ICE servers go to links made from then on.
import { refreshDelayMs, type NetConfig } from '../../shared/net-config'
import type { LoadedNetConfig } from './net-config'

/** A failed renewal is tried again this soon (but never later than the usual schedule). */
const retryMs = 30_000

export interface NetRefreshOptions {
  initial: NetConfig
  /** Asks the relay again; never rejects (loadNetConfig's fallback says why it could not). */
  reload: () => Promise<LoadedNetConfig>
  apply: (config: NetConfig) => void
  onProblem: (problem: string) => void
  now?: () => number
}

/** Starts renewing; returns the function that stops it (a renewal under way is then dropped). */
export function keepNetFresh(options: NetRefreshOptions): () => void {
  const now = options.now ?? Date.now
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  let current = options.initial

  const schedule = (delayMs: number | null): void => {
    if (delayMs !== null && !stopped) timer = setTimeout(() => void renew(), delayMs)
  }
  const renew = async (): Promise<void> => {
    const loaded = await options.reload()
    if (stopped) return
    if (loaded.source === 'relay') {
      current = loaded.config
      options.apply(current)
      schedule(refreshDelayMs(current.expiresAt, now()))
      return
    }
    options.onProblem(`could not renew the TURN credentials: ${loaded.problem ?? 'no answer'}`)
    schedule(Math.min(retryMs, refreshDelayMs(current.expiresAt, now()) ?? retryMs))
  }
  schedule(refreshDelayMs(current.expiresAt, now()))
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}

import type { MarketContext } from './context'
import type { SpeedQuery } from './types'

type SpeedContext = Pick<MarketContext, 'speed' | 'report'>

/** An estimate made from one query, kept until the task it was made for finishes. */
export interface SpeedBasis {
  query: SpeedQuery
  baseMs: number
}

/**
 * The speed model's prediction, or `baseMs` itself when the model throws or answers junk (reported):
 * a broken predictor must never stop bids or awards.
 */
export function predictedMs(ctx: SpeedContext, peerId: string, basis: SpeedBasis): number {
  try {
    const ms = ctx.speed.predictMs(peerId, basis.query, basis.baseMs)
    if (Number.isFinite(ms) && ms >= 0) return ms
    ctx.report(new RangeError(`speed model predicted ${ms} ms for ${peerId}`))
  } catch (error) {
    ctx.report(error)
  }
  return basis.baseMs
}

/** Tells the speed model how long a task took; a throw is reported, never passed on. */
export function observeSpeed(ctx: SpeedContext, peerId: string, basis: SpeedBasis, actualMs: number): void {
  try {
    ctx.speed.observe(peerId, basis.query, basis.baseMs, actualMs)
  } catch (error) {
    ctx.report(error)
  }
}

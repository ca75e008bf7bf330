/** A token bucket: `burst` tokens at most, refilled at `ratePerS`; for frames or bytes. */
export interface TokenBucket {
  /** Takes `amount` tokens and returns true, or takes none and returns false. */
  take(amount: number, nowMs?: number): boolean
}

export interface TokenBucketOptions {
  ratePerS: number
  burst: number
}

/** A full bucket. */
export function createTokenBucket({ ratePerS, burst }: TokenBucketOptions, startMs = Date.now()): TokenBucket {
  let tokens = burst
  let lastMs = startMs
  return {
    take(amount, nowMs = Date.now()) {
      tokens = Math.min(burst, tokens + (Math.max(0, nowMs - lastMs) * ratePerS) / 1000)
      lastMs = Math.max(lastMs, nowMs)
      if (amount > tokens) return false
      tokens -= amount
      return true
    },
  }
}

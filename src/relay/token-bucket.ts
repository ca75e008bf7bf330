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

/** One bucket per key (an address group), made full on first use. */
export interface KeyedBuckets {
  take(key: string, amount?: number, nowMs?: number): boolean
}

/**
 * Buckets by key, at most `maxKeys` of them: past it the least recently used is forgotten (it
 * would be full again by the time a key that old came back, or nearly).
 */
export function createKeyedBuckets(options: TokenBucketOptions, maxKeys = 10_000): KeyedBuckets {
  const buckets = new Map<string, TokenBucket>()
  return {
    take(key, amount = 1, nowMs = Date.now()) {
      let bucket = buckets.get(key)
      if (bucket === undefined) {
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value ?? '')
        bucket = createTokenBucket(options, nowMs)
      } else {
        buckets.delete(key)
      }
      buckets.set(key, bucket)
      return bucket.take(amount, nowMs)
    },
  }
}

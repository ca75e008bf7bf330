/** Open connections per remote address, capped. */
export interface ConnectionLimiter {
  /** Counts one more connection from `ip`, or returns false when it already has the maximum. */
  tryAcquire(ip: string): boolean
  release(ip: string): void
  openCount(ip: string): number
}

/** Creates a limiter allowing `maxPerIp` open connections per address. */
export function createConnectionLimiter(maxPerIp: number): ConnectionLimiter {
  const openByIp = new Map<string, number>()
  return {
    tryAcquire(ip) {
      const open = openByIp.get(ip) ?? 0
      if (open >= maxPerIp) return false
      openByIp.set(ip, open + 1)
      return true
    },
    release(ip) {
      const remaining = (openByIp.get(ip) ?? 1) - 1
      if (remaining > 0) openByIp.set(ip, remaining)
      else openByIp.delete(ip)
    },
    openCount: (ip) => openByIp.get(ip) ?? 0,
  }
}

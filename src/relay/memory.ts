export interface MemoryUsage {
  rssBytes: number
  heapUsedBytes: number
}

/** The process's resident set and V8 heap in use, for stats and benchmarks. */
export function measureMemory(): MemoryUsage {
  const usage = process.memoryUsage()
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed }
}

/** Counters of /v1 as /healthz shows them. */
export interface V1Counters {
  requests: number
  /** Requests answered with a status of 400 or more. */
  failed: number
  promptTokens: number
  completionTokens: number
  /** Median over the last requests; 0 before any. */
  latencyP50Ms: number
  /** Median time to the first chunk of streamed answers; 0 before any. */
  firstChunkP50Ms: number
}

const keptSamples = 1024

function median(samples: readonly number[]): number {
  if (samples.length === 0) return 0
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0
}

export interface V1Metrics {
  record(outcome: { status: number; promptTokens: number; completionTokens: number; latencyMs: number; firstChunkMs: number | null }): void
  counters(): V1Counters
}

export function createMetrics(): V1Metrics {
  const counts = { requests: 0, failed: 0, promptTokens: 0, completionTokens: 0 }
  const latencies: number[] = []
  const firstChunks: number[] = []
  const keep = (samples: number[], value: number): void => {
    samples.push(value)
    if (samples.length > keptSamples) samples.shift()
  }
  return {
    record({ status, promptTokens, completionTokens, latencyMs, firstChunkMs }) {
      counts.requests += 1
      if (status >= 400) counts.failed += 1
      counts.promptTokens += promptTokens
      counts.completionTokens += completionTokens
      keep(latencies, latencyMs)
      if (firstChunkMs !== null) keep(firstChunks, firstChunkMs)
    },
    counters: () => ({ ...counts, latencyP50Ms: median(latencies), firstChunkP50Ms: median(firstChunks) }),
  }
}

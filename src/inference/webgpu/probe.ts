import { describeAdapter, type AdapterDescription } from './model-choice'

/** What the page learned of WebGPU: the adapter's description, or in words why there is none. */
export type WebGpuProbe = { ok: true; adapter: AdapterDescription } | { ok: false; reason: string }

/** A driver that never answers must not hold up the start: past this, WebGPU counts as absent. */
export const adapterTimeoutMs = 3_000

let probe: Promise<WebGpuProbe> | null = null

/**
 * Asks for the WebGPU adapter once per page, with one timeout, and keeps the answer: the
 * capabilities peers see and the local engine's choice read the same one. Only the adapter's
 * description is kept, never the adapter: WebLLM asks for its own in its worker, and an
 * adapter gives out one device at most.
 */
export function probeWebGpu(): Promise<WebGpuProbe> {
  probe ??= requestAdapter()
  return probe
}

async function requestAdapter(): Promise<WebGpuProbe> {
  if (!('gpu' in navigator)) return { ok: false, reason: 'this browser has no WebGPU' }
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), adapterTimeoutMs)
  })
  try {
    const adapter = await Promise.race([navigator.gpu.requestAdapter({ powerPreference: 'high-performance' }), timeout])
    if (adapter === 'timeout') return { ok: false, reason: `the WebGPU adapter request did not answer within ${adapterTimeoutMs / 1000} s` }
    if (!adapter) return { ok: false, reason: 'no WebGPU adapter' }
    return { ok: true, adapter: describeAdapter(adapter) }
  } catch (error) {
    return { ok: false, reason: `the WebGPU adapter request failed: ${error instanceof Error ? error.message : String(error)}` }
  } finally {
    clearTimeout(timer)
  }
}

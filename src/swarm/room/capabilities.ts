import type { Capabilities } from '../../shared/protocol'

const adapterTimeoutMs = 3_000

/** What this browser can do, as peers see it. A missing or hung WebGPU is "no WebGPU". */
export async function detectCapabilities(nav: Navigator = navigator): Promise<Capabilities> {
  const adapter = await requestAdapter(nav)
  const deviceMemory = (nav as Navigator & { deviceMemory?: number }).deviceMemory
  return {
    webgpu: adapter !== null,
    ...(adapter ? { adapter: { vendor: adapter.info.vendor.slice(0, 128), architecture: adapter.info.architecture.slice(0, 128) } } : {}),
    shaderF16: adapter?.features.has('shader-f16') ?? false,
    cores: nav.hardwareConcurrency,
    ...(typeof deviceMemory === 'number' ? { memoryGb: deviceMemory } : {}),
    userAgent: nav.userAgent.slice(0, 128),
  }
}

async function requestAdapter(nav: Navigator): Promise<GPUAdapter | null> {
  if (!('gpu' in nav)) return null
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), adapterTimeoutMs)
  })
  try {
    return await Promise.race([nav.gpu.requestAdapter().catch(() => null), timeout])
  } finally {
    clearTimeout(timer)
  }
}

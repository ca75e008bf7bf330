import { probeWebGpu, type WebGpuProbe } from '../../inference/webgpu/probe'
import type { Capabilities } from '../../shared/protocol'

/** What this browser can do, as peers see it. A missing or hung WebGPU is "no WebGPU" (the page's one probe). */
export async function detectCapabilities(nav: Navigator = navigator, webgpu: Promise<WebGpuProbe> = probeWebGpu()): Promise<Capabilities> {
  const probe = await webgpu
  const adapter = probe.ok ? probe.adapter : null
  const deviceMemory = (nav as Navigator & { deviceMemory?: number }).deviceMemory
  return {
    webgpu: adapter !== null,
    ...(adapter ? { adapter: { vendor: (adapter.vendor ?? '').slice(0, 128), architecture: (adapter.architecture ?? '').slice(0, 128) } } : {}),
    shaderF16: adapter?.features.includes('shader-f16') ?? false,
    cores: nav.hardwareConcurrency,
    ...(typeof deviceMemory === 'number' ? { memoryGb: deviceMemory } : {}),
    userAgent: nav.userAgent.slice(0, 128),
  }
}

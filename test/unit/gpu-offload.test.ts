import { describe, expect, it } from 'vitest'
import { allLayers, offloadedLayers, wllamaOffload } from '../../src/inference/wasm/gpu-offload'
import type { AdapterDescription } from '../../src/inference/webgpu/model-choice'

const limits = { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 1 << 30 }
const adapter = (features: string[], isFallbackAdapter = false): { ok: true; adapter: AdapterDescription } => ({ ok: true, adapter: { features, limits, isFallbackAdapter } })

describe("wllama's WebGPU offload", () => {
  it('offloads every layer where the adapter has shader-f16, unless engine=wasm', () => {
    const offload = wllamaOffload('auto', adapter(['shader-f16']))
    expect(offload.gpuLayers).toBe(allLayers)
    expect(offload.note).toContain('on WebGPU')
    expect(wllamaOffload('webgpu', adapter(['shader-f16', 'subgroups'])).gpuLayers).toBe(allLayers)
    const forced = wllamaOffload('wasm', adapter(['shader-f16']))
    expect(forced.gpuLayers).toBe(0)
    expect(forced.note).toContain('engine=wasm')
  })

  it('stays on the CPU and says why: no WebGPU, no shader-f16 (SwiftShader), a software fallback adapter', () => {
    expect(wllamaOffload('auto', { ok: false, reason: 'this browser has no WebGPU' })).toEqual({
      gpuLayers: 0,
      note: 'WebGPU cannot run this model here (this browser has no WebGPU): wllama runs it on the CPU (WASM).',
    })
    const noF16 = wllamaOffload('auto', adapter(['subgroups', 'timestamp-query']))
    expect(noF16.gpuLayers).toBe(0)
    expect(noF16.note).toContain('shader-f16')
    const fallback = wllamaOffload('webgpu', adapter(['shader-f16'], true))
    expect(fallback.gpuLayers).toBe(0)
    expect(fallback.note).toContain('software fallback')
  })

  it("reads llama.cpp's load log for what it put on the GPU", () => {
    expect(offloadedLayers('load_tensors: offloaded 29/29 layers to GPU')).toEqual({ offloaded: 29, total: 29 })
    expect(offloadedLayers('load_tensors:          CPU model buffer size =     0.38 MiB')).toBeNull()
  })
})

import { describe, expect, it } from 'vitest'
import { catalog, catalogEntry, wasmEntries, webGpuEntries } from '../../src/inference/model-catalog'
import { agreementKey, fitOf, offerFor, type DeviceFacts } from '../../src/inference/model-fit'
import { modelIdOf } from '../../src/inference/wasm/model-id'
import type { AdapterDescription } from '../../src/inference/webgpu/model-choice'

const mib = 1 << 20

const gpu = (features: string[] = ['shader-f16']): AdapterDescription => ({
  features,
  vendor: 'nvidia',
  isFallbackAdapter: false,
  limits: { maxBufferSize: 2048 * mib, maxStorageBufferBindingSize: 2048 * mib, maxComputeWorkgroupStorageSize: 32 * 1024, maxStorageBuffersPerShaderStage: 10 },
})

function entryAt<T>(list: readonly T[], index: number): T {
  const entry = list[index]
  if (entry === undefined) throw new Error(`no entry ${index}`)
  return entry
}

const withGpu = (overrides: Partial<DeviceFacts> = {}): DeviceFacts => ({ webgpu: { ok: true, adapter: gpu() }, deviceMemoryGb: 8, cores: 8, ...overrides })
const noGpu = (overrides: Partial<DeviceFacts> = {}): DeviceFacts => ({ webgpu: { ok: false, reason: 'this browser has no WebGPU' }, deviceMemoryGb: 8, cores: 8, ...overrides })

describe('model catalog', () => {
  it("offers Qwen3 0.6B, 1.7B and 4B for WebGPU in q4f16 and q4f32, with WebLLM's figures", () => {
    expect(webGpuEntries.map((entry) => entry.id)).toEqual([
      'Qwen3-0.6B-q4f16_1-MLC',
      'Qwen3-0.6B-q4f32_1-MLC',
      'Qwen3-1.7B-q4f16_1-MLC',
      'Qwen3-1.7B-q4f32_1-MLC',
      'Qwen3-4B-q4f16_1-MLC',
      'Qwen3-4B-q4f32_1-MLC',
    ])
    expect(catalogEntry('Qwen3-4B-q4f32_1-MLC')?.memoryMb).toBe(4328)
    expect(catalogEntry('Qwen3-0.6B-q4f16_1-MLC')?.memoryMb).toBe(1404)
  })

  it('names every GGUF by the id presence and requirements.model use, and keeps each file under the 2 GB wllama reads', () => {
    for (const entry of wasmEntries) {
      expect(entry.id).toBe(modelIdOf(entry.url))
      expect(entry.url).toMatch(/^https:\/\/huggingface\.co\/.+\.gguf$/)
      expect(entry.downloadBytes).toBeLessThan(2 * 1024 ** 3)
      expect(entry.memoryMb * mib).toBeGreaterThan(entry.downloadBytes)
    }
    expect(wasmEntries.map((entry) => entry.id)).toEqual(['Qwen3-0.6B-Q4_K_M', 'Qwen3-0.6B-Q8_0', 'Qwen3-1.7B-Q4_K_M'])
  })

  it('gives every entry a download size and a memory need, bigger models costing more', () => {
    for (const entry of catalog) expect(entry.downloadBytes).toBeGreaterThan(100e6)
    const bytes = (id: string): number => catalogEntry(id)?.downloadBytes ?? 0
    expect(bytes('Qwen3-0.6B-q4f16_1-MLC')).toBeLessThan(bytes('Qwen3-1.7B-q4f16_1-MLC'))
    expect(bytes('Qwen3-1.7B-q4f16_1-MLC')).toBeLessThan(bytes('Qwen3-1.7B-q4f32_1-MLC'))
    expect(bytes('Qwen3-1.7B-q4f32_1-MLC')).toBeLessThan(bytes('Qwen3-4B-q4f16_1-MLC'))
  })
})

describe('model fit and recommendation', () => {
  it('recommends Qwen3-1.7B q4f16 on a GPU with shader-f16, q4f32 without it', () => {
    expect(offerFor({ choice: 'auto', modelUrl: null, device: withGpu() })).toMatchObject({ recommendedId: 'Qwen3-1.7B-q4f16_1-MLC', selected: { id: 'Qwen3-1.7B-q4f16_1-MLC' } })
    const noF16 = offerFor({ choice: 'auto', modelUrl: null, device: withGpu({ webgpu: { ok: true, adapter: gpu([]) } }) })
    expect(noF16.recommendedId).toBe('Qwen3-1.7B-q4f32_1-MLC')
    const f16 = noF16.fits.find((fit) => fit.entry.id === 'Qwen3-1.7B-q4f16_1-MLC')
    expect(f16).toMatchObject({ runs: false, reason: expect.stringContaining('shader-f16') as string })
  })

  it('falls to the 0.6B on a GPU device with little memory, and says why the bigger ones cannot run', () => {
    const offer = offerFor({ choice: 'auto', modelUrl: null, device: withGpu({ deviceMemoryGb: 2 }) })
    expect(offer.recommendedId).toBe('Qwen3-0.6B-q4f16_1-MLC')
    const big = offer.fits.find((fit) => fit.entry.id === 'Qwen3-4B-q4f16_1-MLC')
    expect(big).toMatchObject({ runs: false, reason: expect.stringContaining('too little memory') as string })
  })

  it('recommends the WASM 1.7B Q4_K_M without WebGPU, the 0.6B with few cores', () => {
    expect(offerFor({ choice: 'auto', modelUrl: null, device: noGpu() }).recommendedId).toBe('Qwen3-1.7B-Q4_K_M')
    expect(offerFor({ choice: 'auto', modelUrl: null, device: noGpu({ cores: 2 }) }).recommendedId).toBe('Qwen3-0.6B-Q4_K_M')
    const webgpu = offerFor({ choice: 'auto', modelUrl: null, device: noGpu() }).fits.find((fit) => fit.entry.kind === 'webgpu')
    expect(webgpu).toMatchObject({ runs: false, reason: 'no WebGPU here: this browser has no WebGPU' })
  })

  it('says when nothing fits a small device, and still selects the smallest GGUF', () => {
    const offer = offerFor({ choice: 'auto', modelUrl: null, device: noGpu({ deviceMemoryGb: 1 }) })
    expect(offer.recommendedId).toBeNull()
    expect(offer.selected.id).toBe('Qwen3-0.6B-Q4_K_M')
    expect(offer.fits.every((fit) => !fit.runs)).toBe(true)
  })

  it('keeps a wasm entry within the wasm32 heap and the 2 GB file limit', () => {
    const huge = { ...entryAt(wasmEntries, 2), downloadBytes: 2.5e9, memoryMb: 3500 }
    expect(fitOf(huge, noGpu())).toMatchObject({ runs: false, reason: expect.stringContaining('over 2 GB') as string })
    const heavy = { ...entryAt(wasmEntries, 2), memoryMb: 5000 }
    expect(fitOf(heavy, noGpu())).toMatchObject({ runs: false, reason: expect.stringContaining('4 GB a wasm32 engine') as string })
  })

  it("selects the link's GGUF first, with its size unknown; engine=webgpu falls back to it only where WebGPU cannot run", () => {
    const url = 'http://127.0.0.1:8787/models/tiny-qwen3.gguf'
    const offer = offerFor({ choice: 'wasm', modelUrl: url, device: withGpu() })
    expect(offer.selected).toMatchObject({ kind: 'wasm', id: 'tiny-qwen3', url, downloadBytes: 0 })
    expect(offer.fits[0]?.entry.id).toBe('tiny-qwen3')
    expect(offerFor({ choice: 'webgpu', modelUrl: url, device: withGpu() }).selected.kind).toBe('webgpu')
    const software = offerFor({ choice: 'webgpu', modelUrl: url, device: withGpu({ webgpu: { ok: true, adapter: { ...gpu(), vendor: 'google', description: 'SwiftShader' } } }) })
    expect(software.selected.id).toBe('tiny-qwen3')
    expect(software.note).toMatch(/^WebGPU cannot run the model here: WebGPU only offers a software adapter.*Using the WASM engine\.$/)
  })

  it('keeps the remembered pick when the engine choice allows it', () => {
    expect(offerFor({ choice: 'auto', modelUrl: null, chosenId: 'Qwen3-4B-q4f16_1-MLC', device: withGpu() }).selected.id).toBe('Qwen3-4B-q4f16_1-MLC')
    expect(offerFor({ choice: 'wasm', modelUrl: null, chosenId: 'Qwen3-4B-q4f16_1-MLC', device: withGpu() }).selected.id).toBe('Qwen3-1.7B-Q4_K_M')
    expect(offerFor({ choice: 'webgpu', modelUrl: null, device: noGpu() }).selected.kind).toBe('wasm')
  })

  it('names an agreement by GGUF URL (a link may name any file) or WebLLM model id', () => {
    const gguf = entryAt(wasmEntries, 0)
    expect(agreementKey(gguf)).toBe(gguf.url)
    expect(agreementKey(entryAt(webGpuEntries, 0))).toBe('Qwen3-0.6B-q4f16_1-MLC')
  })
})

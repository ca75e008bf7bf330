// The context window chosen from measured memory: WASM's 4 GiB heap, the reported device
// memory, the model's KV bytes per token; a forced size wins.
import { describe, expect, it } from 'vitest'
import { qwen3KvBytesPerToken, qwen3Layers, wasmContextSize, webGpuContextSize } from '../../src/inference/context-size'

const gib = 1024 ** 3
const qwen3Wasm = { kvBytesPerToken: qwen3KvBytesPerToken, modelBytes: 1.1 * gib, trainedContext: 40_960 }

describe('wasmContextSize', () => {
  it('grows with the memory the device reports, in powers of two, up to 32K', () => {
    expect(wasmContextSize({ ...qwen3Wasm, deviceMemoryGb: 2 })).toBe(4096)
    expect(wasmContextSize({ ...qwen3Wasm, deviceMemoryGb: 4 })).toBe(8192)
    // 8 GB: the wasm32 heap (4 GiB less the weights and llama.cpp's buffers) is the limit.
    expect(wasmContextSize({ ...qwen3Wasm, deviceMemoryGb: 8 })).toBe(16_384)
    expect(wasmContextSize({ ...qwen3Wasm, deviceMemoryGb: undefined })).toBe(16_384)
    expect(wasmContextSize({ ...qwen3Wasm, kvBytesPerToken: qwen3KvBytesPerToken / 4, deviceMemoryGb: 8 })).toBe(32_768)
  })
  it('keeps 4K when the KV size is unknown, gives a model trained for less 4K, and lets a forced size win', () => {
    expect(wasmContextSize({ ...qwen3Wasm, kvBytesPerToken: 0, deviceMemoryGb: 8 })).toBe(4096)
    expect(wasmContextSize({ kvBytesPerToken: 512, modelBytes: 400_000, trainedContext: 2048, deviceMemoryGb: 8 })).toBe(4096)
    expect(wasmContextSize({ ...qwen3Wasm, deviceMemoryGb: 8, forced: 512 })).toBe(512)
  })
})

describe('webGpuContextSize', () => {
  const qwen3 = { vramRequiredMb: 2036.66, contextWindowSize: 4096, kvBytesPerToken: qwen3KvBytesPerToken, layers: qwen3Layers, maxStorageBufferBindingSize: 128 * 1024 ** 2 }
  it("keeps the record's window without a memory figure, grows it with one", () => {
    expect(webGpuContextSize({ ...qwen3, deviceMemoryGb: undefined })).toBe(4096)
    expect(webGpuContextSize({ ...qwen3, deviceMemoryGb: 4 })).toBe(4096)
    expect(webGpuContextSize({ ...qwen3, deviceMemoryGb: 8 })).toBe(16_384)
  })
  it("never past one layer's KV in a storage buffer binding, nor below the record's", () => {
    expect(webGpuContextSize({ ...qwen3, deviceMemoryGb: 8, maxStorageBufferBindingSize: 32 * 1024 ** 2 })).toBe(8192)
    expect(webGpuContextSize({ ...qwen3, deviceMemoryGb: 1 })).toBe(4096)
    expect(webGpuContextSize({ ...qwen3, deviceMemoryGb: 8, forced: 1024 })).toBe(1024)
  })
})

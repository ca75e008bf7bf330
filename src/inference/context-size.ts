/**
 * How many tokens of context to load a model with, from what the device has measured: the
 * model's KV cache bytes per token (its hparams), the memory it may take, and for WASM the
 * 4 GiB ceiling of a wasm32 heap. From Qwen3's 4K default up to its trained 32K, in powers of
 * two; never more than the model was trained for (a model trained for less than 4K gets 4K). A forced size (a URL option, for tests) wins.
 */

const minContext = 4096
export const maxContext = 32_768
const gib = 1024 ** 3
const mib = 1024 ** 2
/** wasm32 addresses 4 GiB; the weights, llama.cpp's compute buffers and the JS glue live there too. */
const wasmHeapBytes = 4 * gib
const wasmReserveBytes = 768 * mib
/** Of the system memory the browser reports, what one tab's model may take. */
const deviceMemoryShare = 0.5

export interface WasmContextInput {
  /** Bytes of K and V cache per token (GgufHeader.kvBytesPerToken); 0 when unknown. */
  kvBytesPerToken: number
  modelBytes: number
  /** The model's trained context; 0 when unknown. */
  trainedContext: number
  /** navigator.deviceMemory (GB, capped at 8 by browsers); undefined when the browser hides it. */
  deviceMemoryGb: number | undefined
  forced?: number | undefined
}

/** The largest power of two from minContext to `cap` whose extra KV bytes fit `spareBytes`. */
function largestFitting(kvBytesPerToken: number, spareBytes: number, cap: number, floor = minContext): number {
  let size = floor
  while (size * 2 <= cap && kvBytesPerToken * size * 2 <= spareBytes) size *= 2
  return Math.min(size, cap)
}

export function wasmContextSize(input: WasmContextInput): number {
  // llama.cpp runs past the trained context (it warns); a model trained for less than 4K still gets 4K.
  const cap = Math.min(maxContext, Math.max(minContext, input.trainedContext > 0 ? input.trainedContext : maxContext))
  if (input.forced !== undefined) return Math.min(input.forced, cap)
  if (input.kvBytesPerToken <= 0) return Math.min(minContext, cap)
  const heapSpare = wasmHeapBytes - input.modelBytes - wasmReserveBytes
  const deviceSpare = input.deviceMemoryGb === undefined ? heapSpare : input.deviceMemoryGb * gib * deviceMemoryShare - input.modelBytes
  return largestFitting(input.kvBytesPerToken, Math.min(heapSpare, deviceSpare), cap)
}

export interface WebGpuContextInput {
  /** What the model record asks for at its own context (`vram_required_MB` at `contextWindowSize`). */
  vramRequiredMb: number
  contextWindowSize: number
  kvBytesPerToken: number
  layers: number
  maxStorageBufferBindingSize: number
  deviceMemoryGb: number | undefined
  forced?: number | undefined
}

/**
 * WebLLM's `context_window_size`: more than the record's only when the browser says how much
 * memory there is (deviceMemory), the extra KV fits in it, and one layer's KV fits a storage
 * buffer binding of the adapter.
 */
export function webGpuContextSize(input: WebGpuContextInput): number {
  const base = input.contextWindowSize > 0 ? input.contextWindowSize : minContext
  if (input.forced !== undefined) return Math.min(input.forced, maxContext)
  if (input.deviceMemoryGb === undefined || input.kvBytesPerToken <= 0 || input.layers <= 0) return base
  const spareBytes = input.deviceMemoryGb * gib * deviceMemoryShare - input.vramRequiredMb * mib + input.kvBytesPerToken * base
  const bindingCap = Math.floor(input.maxStorageBufferBindingSize / (input.kvBytesPerToken / input.layers))
  return Math.max(base, largestFitting(input.kvBytesPerToken, spareBytes, Math.min(maxContext, bindingCap), base))
}

/** Qwen3-1.7B's KV cache at f16: 28 layers × 8 KV heads × (128 + 128) × 2 bytes. */
export const qwen3KvBytesPerToken = 28 * 8 * 256 * 2
export const qwen3Layers = 28

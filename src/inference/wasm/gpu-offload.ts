// wllama's own WebGPU backend (llama.cpp's ggml-webgpu, in wllama since 3.1, `n_gpu_layers`): a
// second WebGPU path beside WebLLM, for a GGUF model WebLLM has no build of (a link's model, a
// GGUF the user picked). ggml-webgpu asks its device for shader-f16 and registers no device
// without it, so it cannot serve the GPUs WebLLM serves with its f32 builds; there llama.cpp
// stays on the CPU, and the engine view says why.
import type { EngineChoice } from '../types'
import type { WebGpuProbe } from '../webgpu/probe'

/** Every layer: llama.cpp offloads the smaller of this and the model's layer count. */
export const allLayers = 999

export interface Offload {
  /** `n_gpu_layers` for wllama: 0 keeps llama.cpp on the CPU (and wllama then skips WebGPU entirely). */
  gpuLayers: number
  /** Where the model runs and why, in words for the engine view. */
  note: string
}

/** Where wllama runs a GGUF on this device, for the URL's or the settings' engine choice. */
export function wllamaOffload(choice: EngineChoice, probe: WebGpuProbe): Offload {
  const cpu = (why: string): Offload => ({ gpuLayers: 0, note: `WebGPU cannot run this model here (${why}): wllama runs it on the CPU (WASM).` })
  if (choice === 'wasm') return { gpuLayers: 0, note: 'wllama runs the model on the CPU (WASM): engine=wasm asks for it.' }
  if (!probe.ok) return cpu(probe.reason)
  if (probe.adapter.isFallbackAdapter === true) return cpu('the WebGPU adapter is a software fallback, slower than the CPU engine')
  if (!probe.adapter.features.includes('shader-f16')) return cpu("its WebGPU backend (llama.cpp's ggml-webgpu) needs shader-f16, which this GPU lacks")
  return { gpuLayers: allLayers, note: "wllama runs the model on WebGPU (llama.cpp's WebGPU backend): WebLLM has no build of a GGUF." }
}

/** The count in llama.cpp's load log line "load_tensors: offloaded 28/29 layers to GPU", or null for another line. */
export function offloadedLayers(line: string): { offloaded: number; total: number } | null {
  const match = /offloaded (\d+)\/(\d+) layers to GPU/.exec(line)
  return match ? { offloaded: Number(match[1]), total: Number(match[2]) } : null
}

import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import { WorkerEngine } from '../worker-engine'
import { modelIdOf } from './wllama-engine'

/**
 * Qwen3-1.7B Q4_K_M as GGUF on Hugging Face. wllama reads at most 2 GB per file; this file is
 * about 1.1 GB. A split model (`…-00001-of-0000N.gguf`, parts of ≤ 512 MB) loads the same way.
 */
export const defaultWasmModelUrl = 'https://huggingface.co/unsloth/Qwen3-1.7B-GGUF/resolve/main/Qwen3-1.7B-Q4_K_M.gguf'

export interface WasmEngineOptions {
  threads?: number
  contextSize?: number
}

/** The WASM engine (wllama) in its own worker, speaking the engine protocol. */
export function createWasmEngine(modelUrl: string = defaultWasmModelUrl, options: WasmEngineOptions = {}): WorkerEngine {
  const worker = new Worker(new URL('../../../workers/wasm-engine.worker.ts', import.meta.url), { type: 'module', name: 'edgeswarm-wasm-engine' })
  worker.postMessage({
    kind: 'configure',
    options: { modelUrl: new URL(modelUrl, location.href).href, wasmUrl: new URL(wasmUrl, location.href).href, ...options },
  })
  return new WorkerEngine('wasm', worker, modelIdOf(modelUrl))
}

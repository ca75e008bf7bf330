import { WebLlmEngine, type WebLlmEngineOptions } from './webllm-engine'

/**
 * The WebGPU engine (WebLLM) with its worker written the way Vite finds and bundles it. The worker
 * starts only once the adapter check passes, and anew after each unload.
 */
export function createWebGpuEngine(options: Omit<WebLlmEngineOptions, 'createWorker'> = {}): WebLlmEngine {
  return new WebLlmEngine({
    ...options,
    createWorker: () => new Worker(new URL('../../../workers/webgpu-engine.worker.ts', import.meta.url), { type: 'module', name: 'edgeswarm-webgpu-engine' }),
  })
}

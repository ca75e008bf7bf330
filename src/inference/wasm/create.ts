import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import { workerClient } from '../../shared/rpc'
import type { PinnedFile } from './model-download'
import { EngineClient } from '../engine-rpc'
import type { EngineWorkerMethods } from '../worker-host'
import { modelIdOf } from './model-id'

export interface WasmEngineOptions {
  threads?: number
  contextSize?: number
  /** What the download is checked against (the catalog's pins, a link's `sha256=`). */
  pinned?: PinnedFile[]
  /** Layers to offload to WebGPU (wllama's WebGPU backend); absent: CPU only. */
  gpuLayers?: number
}

/** A wllama build: the worker that hosts it and the URL of its wasm file. */
export interface WllamaBuild {
  createWorker: () => Worker
  wasmUrl: string
}

const appBuild: WllamaBuild = {
  createWorker: () => new Worker(new URL('../../../workers/wasm-engine.worker.ts', import.meta.url), { type: 'module', name: 'edgeswarm-wasm-engine' }),
  wasmUrl,
}

/**
 * The WASM engine (wllama) in its own worker, over the engine RPC; unload ends the worker.
 * `modelUrl`: a GGUF (the catalog's, src/inference/model-catalog.ts, or a link's). wllama reads
 * at most 2 GB per file; a split model (`…-00001-of-0000N.gguf`) loads by its first part.
 * `build`: another wllama than the app's (the engine bench compares two).
 */
export function createWasmEngine(modelUrl: string, options: WasmEngineOptions = {}, build: WllamaBuild = appBuild): EngineClient {
  const worker = build.createWorker()
  const rpc = workerClient<EngineWorkerMethods>(worker, 'wasm engine')
  // A configure that fails shows on the load after it ("not configured"), so it is not awaited here.
  rpc.call('configure', { modelUrl: new URL(modelUrl, location.href).href, wasmUrl: new URL(build.wasmUrl, location.href).href, ...options }).catch(() => undefined)
  return new EngineClient('wasm', rpc, modelIdOf(modelUrl), () => worker.terminate())
}

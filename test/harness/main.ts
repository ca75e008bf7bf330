// A bare page that builds engines exactly as the app does, for test/contracts/engine.ts.
import type { Engine } from '../../src/inference/engine'
import { createWasmEngine } from '../../src/inference/wasm/create'

export interface Harness {
  createWasmEngine(modelUrl: string, options?: { threads?: number; contextSize?: number }): Engine
}

declare global {
  var harness: Harness
  var engine: Engine | undefined
}

globalThis.harness = {
  createWasmEngine: (modelUrl, options = {}) => {
    globalThis.engine = createWasmEngine(modelUrl, options)
    return globalThis.engine
  },
}
document.documentElement.dataset.ready = 'true'

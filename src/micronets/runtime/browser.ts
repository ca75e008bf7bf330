import { exportOnnx } from '../onnx/export'
import type { Mlp } from '../mlp'
import type { RouterScorer } from '../router'
import { MicronetPool, type MicronetPoolOptions } from './pool'

/** The micro-net worker, bundled by Vite with onnxruntime-web's wasm beside it. */
export function createMicronetWorker(): Worker {
  return new Worker(new URL('../../../workers/micronet.worker.ts', import.meta.url), { type: 'module', name: 'edgeswarm-micronet' })
}

/** Threads per session: several only when the page is cross-origin isolated (SharedArrayBuffer). */
export function defaultThreads(): number {
  return globalThis.crossOriginIsolated ? Math.min(4, Math.max(1, Math.floor(navigator.hardwareConcurrency / 4))) : 1
}

/** A pool of browser workers with this app's defaults. */
export function createMicronetPool(options: Partial<MicronetPoolOptions> = {}): MicronetPool {
  return new MicronetPool({ createWorker: createMicronetWorker, ...options, settings: { threads: defaultThreads(), ...options.settings } })
}

/** A router scorer that runs `net` in the pool, registered under `netId` (re-registered when the net changes). */
export function pooledScorer(pool: MicronetPool, netId: string, net: Mlp): RouterScorer {
  pool.register(netId, exportOnnx(net))
  return {
    score: async (features) => (await pool.run(netId, features, 1))[0] ?? 0,
  }
}

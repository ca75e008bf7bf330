import * as v from 'valibot'
import type { RpcMethod, RpcSchemas } from '../../shared/rpc'

/** How the worker runs onnxruntime-web; sent once, before any session. */
export interface RuntimeSettings {
  /** Threads per session (1 unless the page is cross-origin isolated). */
  threads: number
  /**
   * ort's `env.wasm.simd`. onnxruntime-web 1.30 ships only a SIMD build: false merely skips its
   * feature check, so there is no non-SIMD run to compare against with this version.
   */
  simd: boolean
}

/** What the worker reports of itself: the sessions it holds and what it has done. */
export interface WorkerStats {
  sessions: string[]
  created: number
  released: number
  runs: number
  threads: number
}

/** The micro-net worker's methods, over the one RPC of src/shared/rpc.ts. */
export interface MicronetMethods {
  init: RpcMethod<RuntimeSettings, WorkerStats>
  create: RpcMethod<{ netId: string; model: Uint8Array }, WorkerStats>
  run: RpcMethod<{ netId: string; input: Float32Array; rows: number }, Float32Array>
  dispose: RpcMethod<{ netId: string }, WorkerStats>
  stats: RpcMethod<null, WorkerStats>
}

const NetId = v.pipe(v.string(), v.minLength(1), v.maxLength(200))

/** Every request is checked in the worker before it reaches onnxruntime. */
export const micronetSchemas: RpcSchemas<MicronetMethods> = {
  init: v.object({ threads: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64)), simd: v.boolean() }),
  create: v.object({ netId: NetId, model: v.instance(Uint8Array) }),
  run: v.object({ netId: NetId, input: v.instance(Float32Array), rows: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
  dispose: v.object({ netId: NetId }),
  stats: v.null(),
}

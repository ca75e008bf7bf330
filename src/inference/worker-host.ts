import * as v from 'valibot'
import { EngineUnavailableError } from '../shared/errors'
import { serveRpc, type MessageEndpoint, type RpcMethod } from '../shared/rpc'
import type { Engine } from './engine'
import { countOn, engineSchemas, type EngineMethods } from './engine-rpc'
import { PinnedFilesSchema } from './wasm/model-download'
import type { WllamaEngineOptions } from './wasm/wllama-engine'

/** An engine worker's methods: the Engine's, after one `configure` that says what to build. */
export interface EngineWorkerMethods extends EngineMethods {
  configure: RpcMethod<WllamaEngineOptions, null>
}

const ConfigureSchema = v.object({
  modelUrl: v.pipe(v.string(), v.maxLength(4096)),
  wasmUrl: v.pipe(v.string(), v.maxLength(4096)),
  threads: v.exactOptional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))),
  contextSize: v.exactOptional(v.pipe(v.number(), v.integer(), v.minValue(64), v.maxValue(131_072))),
  pinned: v.exactOptional(PinnedFilesSchema),
  gpuLayers: v.exactOptional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(999))),
})

/**
 * The worker's side: `configure` builds the engine, then the engine's methods serve it, until
 * the worker is terminated. Messages arrive in order, so a `load` sent after `configure` finds
 * the engine built.
 */
export function hostEngineInWorker(create: (options: WllamaEngineOptions) => Engine): void {
  // A worker's global scope; typed by what we use, as the DOM and WebWorker libs conflict.
  const scope = globalThis as unknown as MessageEndpoint
  let engine: Engine | null = null
  const built = (): Engine => {
    if (!engine) throw new EngineUnavailableError('the engine worker is not configured')
    return engine
  }
  serveRpc<EngineWorkerMethods>(
    scope,
    {
      configure: (options) => {
        engine ??= create(options)
        return null
      },
      load: async (_payload, { emit, signal }) => {
        await built().load(emit, signal)
        return built().info()
      },
      chat: async (request, { emit, signal }) => {
        for await (const chunk of built().chat(request, signal)) emit(chunk)
        return built().info()
      },
      info: () => built().info(),
      count: (messages, { signal }) => countOn(built(), messages, signal),
      unload: async () => {
        await engine?.unload()
        return null
      },
    },
    { schemas: { ...engineSchemas, configure: ConfigureSchema } },
  )
}

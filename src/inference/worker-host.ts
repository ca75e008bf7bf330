import * as v from 'valibot'
import type { Engine } from './engine'
import { serveEngine, type MessageEndpoint } from './rpc'
import type { WllamaEngineOptions } from './wasm/wllama-engine'

const ConfigureSchema = v.object({
  kind: v.literal('configure'),
  options: v.object({ modelUrl: v.string(), wasmUrl: v.string(), threads: v.optional(v.number()), contextSize: v.optional(v.number()) }),
})

/**
 * The worker's side: waits for one `configure` message, builds the engine with it, then serves
 * it with the engine protocol until the worker is terminated.
 */
export function hostEngineInWorker(create: (options: WllamaEngineOptions) => Engine): void {
  // A worker's global scope; typed by what we use, as the DOM and WebWorker libs conflict.
  const scope = globalThis as unknown as MessageEndpoint
  const onConfigure = (event: MessageEvent): void => {
    const parsed = v.safeParse(ConfigureSchema, event.data)
    if (!parsed.success) return
    scope.removeEventListener('message', onConfigure)
    const { threads, contextSize, ...rest } = parsed.output.options
    serveEngine(create({ ...rest, ...(threads !== undefined ? { threads } : {}), ...(contextSize !== undefined ? { contextSize } : {}) }), scope)
  }
  scope.addEventListener('message', onConfigure)
}

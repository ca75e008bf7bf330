// onnxruntime-web inside a micro-net worker: the WASM execution provider only, its files bundled
// by Vite (the `?url` imports), never fetched from a CDN.
import * as ort from 'onnxruntime-web/wasm'
import wasmMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url'
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url'
import { InferenceError } from '../../shared/errors'
import { onnxInputName, onnxOutputName } from '../onnx/export'
import type { RuntimeSettings } from './protocol'

export type OrtSession = ort.InferenceSession

let configured: RuntimeSettings | null = null

/** Sets ort's environment; only the first call counts, as ort reads it once on first use. */
export function configureOrt(settings: RuntimeSettings): RuntimeSettings {
  if (configured) return configured
  ort.env.wasm.wasmPaths = { mjs: new URL(wasmMjsUrl, location.href).href, wasm: new URL(wasmUrl, location.href).href }
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? settings.threads : 1
  ort.env.wasm.simd = settings.simd
  // Already off the page's thread: ort's own proxy worker would only add a hop.
  ort.env.wasm.proxy = false
  configured = { ...settings, threads: ort.env.wasm.numThreads }
  return configured
}

export async function createSession(model: Uint8Array): Promise<OrtSession> {
  return ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' })
}

export async function runSession(session: OrtSession, input: Float32Array, rows: number): Promise<Float32Array> {
  if (input.length % rows !== 0) throw new InferenceError(`input of ${input.length} values does not split into ${rows} rows`)
  const tensor = new ort.Tensor('float32', input, [rows, input.length / rows])
  try {
    const result = await session.run({ [onnxInputName]: tensor })
    const output = result[onnxOutputName]
    if (!output || !(output.data instanceof Float32Array)) throw new InferenceError('the net gave no float32 output')
    const values = output.data.slice()
    output.dispose()
    return values
  } finally {
    tensor.dispose()
  }
}

export async function releaseSession(session: OrtSession): Promise<void> {
  await session.release()
}

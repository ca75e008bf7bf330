// For the micronets bench only: times onnxruntime-web's session.run inside a worker, with the
// app's own ort setup (src/micronets/runtime/ort-backend.ts) and no pool or messaging around it.
import { configureOrt, createSession, runSession } from '../../src/micronets/runtime/ort-backend'
import type { RuntimeSettings } from '../../src/micronets/runtime/protocol'

export interface OrtTimingRequest {
  settings: RuntimeSettings
  model: Uint8Array
  /** One row each, run in turn: `warmup` runs first, untimed, then `runs` timed ones. */
  inputs: Float32Array[]
  warmup: number
  runs: number
}

export type OrtTimingReply = { ok: true; createMs: number; runMs: number[]; threads: number } | { ok: false; error: string }

interface WorkerScope {
  postMessage(message: OrtTimingReply): void
  addEventListener(type: 'message', listener: (event: MessageEvent<OrtTimingRequest>) => void): void
}

const scope = globalThis as unknown as WorkerScope

async function time(request: OrtTimingRequest): Promise<OrtTimingReply> {
  const { threads } = configureOrt(request.settings)
  const createdAtMs = performance.now()
  const session = await createSession(request.model)
  const createMs = performance.now() - createdAtMs
  const input = (index: number): Float32Array => request.inputs[index % request.inputs.length] ?? new Float32Array()
  for (let index = 0; index < request.warmup; index++) await runSession(session, input(index), 1)
  const runMs: number[] = []
  for (let index = 0; index < request.runs; index++) {
    const startedMs = performance.now()
    await runSession(session, input(index), 1)
    runMs.push(performance.now() - startedMs)
  }
  await session.release()
  return { ok: true, createMs, runMs, threads }
}

scope.addEventListener('message', (event) => {
  time(event.data).then(
    (reply) => scope.postMessage(reply),
    (error: unknown) => scope.postMessage({ ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
  )
})

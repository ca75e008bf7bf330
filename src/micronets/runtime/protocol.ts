import * as v from 'valibot'
import type { SerializedError } from '../../shared/errors'

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

/** One typed protocol between the pool and each micro-net worker: `{ kind, id, payload }` both ways. */
export type MicronetRequest =
  | { kind: 'init'; id: number; payload: RuntimeSettings }
  | { kind: 'create'; id: number; payload: { netId: string; model: Uint8Array } }
  | { kind: 'run'; id: number; payload: { netId: string; input: Float32Array; rows: number } }
  | { kind: 'dispose'; id: number; payload: { netId: string } }
  | { kind: 'stats'; id: number; payload: null }

export type MicronetReply =
  | { kind: 'output'; id: number; payload: { output: Float32Array } }
  | { kind: 'done'; id: number; payload: WorkerStats }
  | { kind: 'error'; id: number; payload: SerializedError }

const Id = v.pipe(v.number(), v.integer())
const NetId = v.pipe(v.string(), v.minLength(1), v.maxLength(200))
const RequestSchema = v.variant('kind', [
  v.object({ kind: v.literal('init'), id: Id, payload: v.object({ threads: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64)), simd: v.boolean() }) }),
  v.object({ kind: v.literal('create'), id: Id, payload: v.object({ netId: NetId, model: v.instance(Uint8Array) }) }),
  v.object({ kind: v.literal('run'), id: Id, payload: v.object({ netId: NetId, input: v.instance(Float32Array), rows: v.pipe(v.number(), v.integer(), v.minValue(1)) }) }),
  v.object({ kind: v.literal('dispose'), id: Id, payload: v.object({ netId: NetId }) }),
  v.object({ kind: v.literal('stats'), id: Id, payload: v.null() }),
])
const ReplyEnvelope = v.object({ kind: v.picklist(['output', 'done', 'error']), id: Id, payload: v.unknown() })

export function parseMicronetRequest(data: unknown): MicronetRequest | null {
  const parsed = v.safeParse(RequestSchema, data)
  return parsed.success ? parsed.output : null
}

/** Replies come from our own worker: the envelope is checked, the payload trusted by kind. */
export function isMicronetReply(data: unknown): data is MicronetReply {
  return v.is(ReplyEnvelope, data)
}

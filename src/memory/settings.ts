import * as v from 'valibot'
import type { LocalDb } from './local-db'

export const EngineSettingsSchema = v.object({
  engine: v.optional(v.picklist(['auto', 'webgpu', 'wasm', 'none'])),
  /** A GGUF URL for the WASM engine; empty: the default Qwen3-1.7B. */
  modelUrl: v.optional(v.pipe(v.string(), v.maxLength(2048))),
  /** Bearer token for a relay that requires one (RELAY_TOKENS). */
  relayToken: v.optional(v.pipe(v.string(), v.maxLength(512))),
})
export type EngineSettings = v.InferOutput<typeof EngineSettingsSchema>

const key = 'engine'

/** The user's engine choice, kept in this profile; the URL's `engine` and `model` win over it. */
export async function loadEngineSettings(db: LocalDb): Promise<EngineSettings> {
  const parsed = v.safeParse(EngineSettingsSchema, await db.get('settings', key))
  return parsed.success ? parsed.output : {}
}

export async function saveEngineSettings(db: LocalDb, settings: EngineSettings): Promise<void> {
  await db.put('settings', v.parse(EngineSettingsSchema, settings), key)
}

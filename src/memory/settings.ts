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

export const RouterSettingsSchema = v.object({
  /** 0: spend least (stay on the small model when it might do); 1: buy the best answer. */
  costQuality: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
})
export type RouterSettings = v.InferOutput<typeof RouterSettingsSchema>

const routerKey = 'router'

export async function loadRouterSettings(db: LocalDb): Promise<RouterSettings> {
  const parsed = v.safeParse(RouterSettingsSchema, await db.get('settings', routerKey))
  return parsed.success ? parsed.output : {}
}

export async function saveRouterSettings(db: LocalDb, settings: RouterSettings): Promise<void> {
  await db.put('settings', v.parse(RouterSettingsSchema, settings), routerKey)
}

import * as v from 'valibot'
import { ServeModeSchema, type ServeMode } from '../shared/protocol'
import type { LocalDb } from './local-db'
import { savingOrSay } from './storage-full'

type ObjectSchema = v.ObjectSchema<v.ObjectEntries, undefined>

/** Agreements kept; the oldest go first (each is one model a user once chose to download). */
export const maxAgreedModels = 32

/** One group of settings kept in this profile under `key`; what does not fit the schema reads as none. */
function settingsGroup<S extends ObjectSchema>(schema: S, key: string): { load(db: LocalDb): Promise<Partial<v.InferOutput<S>>>; save(db: LocalDb, settings: v.InferOutput<S>): Promise<void> } {
  return {
    load: async (db) => {
      const parsed = v.safeParse(schema, await db.get('settings', key))
      return parsed.success ? parsed.output : {}
    },
    save: async (db, settings) => {
      const value = v.parse(schema, settings)
      await savingOrSay(`the ${key} settings`, () => db.put('settings', value, key))
    },
  }
}

export const EngineSettingsSchema = v.object({
  engine: v.optional(v.picklist(['auto', 'webgpu', 'wasm', 'none'])),
  /** A GGUF URL for the WASM engine; empty: the model picked in the engine view (the `model` group). */
  modelUrl: v.optional(v.pipe(v.string(), v.maxLength(2048))),
  /** Bearer token for a relay that requires one (RELAY_TOKENS). */
  relayToken: v.optional(v.pipe(v.string(), v.maxLength(512))),
})
export type EngineSettings = v.InferOutput<typeof EngineSettingsSchema>

/** The user's engine choice; the URL's `engine` and `model` win over it. */
export const engineSettings = settingsGroup(EngineSettingsSchema, 'engine')

export const ModelSettingsSchema = v.object({
  /** The model the user picked in the engine view (a catalog id). */
  chosenId: v.optional(v.pipe(v.string(), v.maxLength(128))),
  /**
   * The models this profile agreed to download (agreementKey: a GGUF's URL, a WebLLM model's
   * id). Only the engine view's Download button adds to it: no link can.
   */
  agreed: v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(2048))), v.maxLength(maxAgreedModels))),
  /** The user paused the download: a reload keeps it paused until Resume. */
  paused: v.optional(v.boolean()),
})
export type ModelSettings = v.InferOutput<typeof ModelSettingsSchema>

/** The model choice and the agreement to download it, remembered so a later visit loads without asking. */
export const modelSettings = settingsGroup(ModelSettingsSchema, 'model')

export const RouterSettingsSchema = v.object({
  /** 0: spend least (stay on the small model when it might do); 1: buy the best answer. */
  costQuality: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
})
export type RouterSettings = v.InferOutput<typeof RouterSettingsSchema>

export const routerSettings = settingsGroup(RouterSettingsSchema, 'router')

export const MemorySearchSettingsSchema = v.object({
  /** The user agreed to download the embedding model and turned memory search on. */
  enabled: v.optional(v.boolean()),
})
export type MemorySearchSettings = v.InferOutput<typeof MemorySearchSettingsSchema>

export const memorySearchSettings = settingsGroup(MemorySearchSettingsSchema, 'memory-search')

export const ChatSettingsSchema = v.object({
  /** Quote the room's memory into each question's prompt. */
  useMemory: v.optional(v.boolean()),
  /** Let the model act with the built-in tools (the agent loop). */
  agent: v.optional(v.boolean()),
})
export type ChatSettings = v.InferOutput<typeof ChatSettingsSchema>

/** The chat's switches, remembered per room (`roomId`: roomIdOf, so the room key is never stored). */
export const chatSettings = (roomId: string): ReturnType<typeof settingsGroup<typeof ChatSettingsSchema>> => settingsGroup(ChatSettingsSchema, `chat:${roomId}`)

export const NetSettingsSchema = v.object({
  /** 'relay': every link through TURN, so no member of a room learns this device's addresses. */
  ice: v.optional(v.picklist(['all', 'relay'])),
})
export type NetSettings = v.InferOutput<typeof NetSettingsSchema>

/** How this profile links to peers; the URL's `ice=` wins over it. */
export const netSettings = settingsGroup(NetSettingsSchema, 'net')

export const ServeSettingsSchema = v.object({
  /** Run peers' tasks: never, only while this tab is idle, or always. */
  mode: v.optional(ServeModeSchema),
  /** Tasks of one member run in any minute, at most. */
  tasksPerMinute: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(600))),
  /** Tasks of one member bid on or running at once, at most. */
  concurrentPerMember: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16))),
})
export interface ServeSettings {
  mode: ServeMode
  tasksPerMinute: number
  concurrentPerMember: number
}

/**
 * Serve when idle by default: this tab's own answers never wait behind a peer's task, and a tab
 * left open (most of the time) still gives, so a room of nodes with the default serves itself.
 * Per member, 120 tasks a minute and 2 at once: a person asking runs freely, and so do a long
 * chat's summaries and a document fanned out over the room (every part is a task); a flood does not.
 */
export const defaultServeSettings: ServeSettings = { mode: 'idle', tasksPerMinute: 120, concurrentPerMember: 2 }

const serveGroup = settingsGroup(ServeSettingsSchema, 'serve')

/** What this profile runs for the members of its rooms ("serve peers" in the header); the defaults fill what was never set. */
export const serveSettings = {
  load: async (db: LocalDb): Promise<ServeSettings> => {
    const stored = await serveGroup.load(db)
    return {
      mode: stored.mode ?? defaultServeSettings.mode,
      tasksPerMinute: stored.tasksPerMinute ?? defaultServeSettings.tasksPerMinute,
      concurrentPerMember: stored.concurrentPerMember ?? defaultServeSettings.concurrentPerMember,
    }
  },
  save: (db: LocalDb, settings: ServeSettings): Promise<void> => serveGroup.save(db, settings),
}

import * as v from 'valibot'

/**
 * Bumped on any change that older nodes would misread; peers of another version are ignored.
 * 2: presence states are signed (`at`, `sig`), bound to the room and the awareness client.
 * 3: presence tells the engine's context size and what it supports (tools, JSON schemas).
 * 4: task specs are v3, with a signed `expiresAt` after which any node removes the task.
 * 5: presence says whether the node serves peers (`serve`); results carry signed token counts
 *    that the room's contribution ledger is built from.
 * 6: presence tells the node's embedding model (`embedder`); embedding tasks (requirements.kind).
 */
export const PROTOCOL_VERSION = 6

export const maxAwarenessBytes = 8 * 1024

const shortText = v.pipe(v.string(), v.maxLength(128))
const nodeId = v.pipe(v.string(), v.regex(/^[0-9a-f]{20}$/))

export const CapabilitiesSchema = v.object({
  webgpu: v.boolean(),
  adapter: v.optional(v.object({ vendor: shortText, architecture: shortText })),
  shaderF16: v.boolean(),
  cores: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4096)),
  memoryGb: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1 << 20))),
  userAgent: v.optional(shortText),
})
export type Capabilities = v.InferOutput<typeof CapabilitiesSchema>

export const NodeStatusSchema = v.picklist(['joining', 'online', 'busy', 'offline'])
export type NodeStatus = v.InferOutput<typeof NodeStatusSchema>

/** The node's local model as peers see it: the task market reads this to pick executors. */
export const EnginePresenceSchema = v.object({
  kind: v.picklist(['webgpu', 'wasm', 'none']),
  modelId: shortText,
  state: v.picklist(['none', 'downloading', 'loading', 'ready', 'busy', 'failed']),
  /** Download progress, 0..1, while downloading. */
  progress: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  prefillTokensPerS: v.pipe(v.number(), v.minValue(0), v.maxValue(1e7)),
  decodeTokensPerS: v.pipe(v.number(), v.minValue(0), v.maxValue(1e7)),
  /** Tokens the loaded model holds, prompt and answer together; bids respect it. */
  contextSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_048_576))),
  /** Whether the engine runs tool calls and constrained JSON (see EngineInfo.supports). */
  supports: v.optional(v.object({ tools: v.boolean(), jsonSchema: v.boolean() })),
})
export type EnginePresence = v.InferOutput<typeof EnginePresenceSchema>

/** A node's loaded sentence-embedding model: vectors of different models are never compared. */
export const EmbedderPresenceSchema = v.object({ modelId: shortText, dimensions: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8192)) })

/** The user's "serve peers" setting: `off` never bids, `idle` bids only while this tab runs nothing of its own. */
export const serveModes = ['off', 'idle', 'always'] as const
export const ServeModeSchema = v.picklist(serveModes)
export type ServeMode = v.InferOutput<typeof ServeModeSchema>

/** What a node says about itself in the room's awareness (not stored in the doc). */
export const PresenceSchema = v.object({
  proto: v.literal(PROTOCOL_VERSION),
  nodeId,
  publicKey: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)),
  caps: CapabilitiesSchema,
  status: NodeStatusSchema,
  visible: v.boolean(),
  heartbeat: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** y-webrtc's peer id of this node's connection, and the ones it has WebRTC links to. */
  linkId: shortText,
  links: v.pipe(v.array(shortText), v.maxLength(256)),
  joinedAt: v.number(),
  engine: v.optional(EnginePresenceSchema),
  /** Market tasks awarded to this node and not finished: bids and awards read it. */
  queue: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1000))),
  /** Whether this node runs peers' tasks: never, only while its tab is idle, or always. */
  serve: ServeModeSchema,
  /** Its sentence-embedding model, loaded: it bids on embedding tasks for that model; null or absent: none. */
  embedder: v.optional(v.nullable(EmbedderPresenceSchema)),
})
export type Presence = v.InferOutput<typeof PresenceSchema>

/**
 * A presence as it travels in the awareness: the node's fields, the signer's clock when it
 * signed them (`at`, ms since the epoch) and its Ed25519 signature (`sig`, base64url) of
 * `["edgeswarm/presence/v2", roomId, clientId, fields]`, where `fields` is every field but
 * `sig` with object keys sorted (see src/market/presence/sign.ts).
 */
export const SignedPresenceSchema = v.object({
  ...PresenceSchema.entries,
  at: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)),
  sig: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{86}$/)),
})
export type SignedPresence = v.InferOutput<typeof SignedPresenceSchema>

/** The least a state must have to be shown at all, even from another protocol version. */
export const AnyVersionPresenceSchema = v.object({ proto: v.number(), nodeId })

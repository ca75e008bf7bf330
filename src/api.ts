import * as v from 'valibot'
import { ChatRequestSchema, type ChatChunk, type ChatRequest } from './inference/types'
import type { PhasesDebug } from './shared/phases'
import type { MemorySearch, MemorySearchState } from './memory/memory-search'
import type { MemoryHit, MemoryItem, SearchOptions } from './memory/store'
import { ValidationError } from './shared/errors'
import type { Unsubscribe } from './shared/events'
import type { Capabilities, EnginePresence, NodeStatus, ServeMode } from './shared/protocol'
import type { Contribution } from './market/ledger'
import type { TaskView } from './market/board'
import type { ChatRouter } from './swarm/routing/chat-router'
import type { FanOutOptions, FanOutResult, MarketNode, RedundantResult, Requirements, TaskHandle } from './market'
import { RequirementsSchema } from './market/schema'
import type { NodeEvents, SwarmNode } from './swarm/node'
import type { SignalingState } from './swarm/room/signaling-client'
import type { PeerEngine } from './swarm/routing/peer-engine'
import type { Engine } from './inference/engine'
import type { RouteDecision } from './micronets/router'
import type { NetState } from './swarm/learning/learned-net'
import type { Learning } from './swarm/learning/learning'
import type { Peer } from './market/presence/peers'
import { memoryK, quoteMemory } from './swarm/memory-quote'
import type { PlanHandle, PlanOptions, Planner } from './swarm/plan/planner'
import type { UpdateApi } from './shared/update-flow'

/** A peer as scripts see it through `globalThis.edgeswarm.peers()`. */
export interface PeerView {
  id: string
  compatible: boolean
  protocol: number
  capabilities: Capabilities | null
  engine: EnginePresence | null
  status: NodeStatus | 'incompatible'
  visible: boolean
  tabs: number
  lastSeenMs: number
  /** Whether it runs peers' tasks (its presence's "serve peers"); null for an incompatible peer. */
  serve: ServeMode | null
}

export type Route = 'auto' | 'local' | 'swarm' | 'relay'

export interface ApiEvents {
  peers: PeerView[]
  join: PeerView
  leave: PeerView
  memory: MemoryItem[]
}

/** `globalThis.edgeswarm`: the page's public face for scripts and tests (see README). */
export interface EdgeswarmApi {
  readonly nodeId: string
  readonly room: string
  /** This build, the update flow's state, and an update check now (README, Updates). */
  readonly update: UpdateApi
  /** The room doc's encoded size in bytes (Y.encodeStateAsUpdate length), as last measured: at most every 2 s while it changes. */
  docSize(): number
  peers(): PeerView[]
  /** The room's signaling connection: the URL it is connected to, or offline and when it tries again. */
  signaling(): SignalingState
  on<K extends keyof ApiEvents>(event: K, listener: (payload: ApiEvents[K]) => void): Unsubscribe
  /**
   * Streams OpenAI chat chunks, routed as the app routes (`route` forces one). Break to stop.
   * `memory: { k }` quotes the room's top `k` memory entries for the question into the prompt, as data.
   */
  chat(request: ChatRequest & { route?: Route; memory?: { k?: number } }): AsyncIterable<ChatChunk>
  /** The micro-net router that routes `auto` chats, run in the micro-net worker; see README. */
  readonly router: {
    /** Where `request` runs best and how sure the router is (`costQuality` 0..1 overrides the setting). */
    decide(request: ChatRequest, costQuality?: number): Promise<RouteDecision & { good: number; runtime: string; latencyMs: number }>
    /** Teaches the router whether the small model's answer to `request` was good enough. */
    learn(request: ChatRequest, good: boolean): Promise<NetView>
    /** What the router and the speed predictor have learned, here and across the room. */
    state(): { router: NetView; speed: NetView }
  }
  /** Engines by kind, for scripts and tests: `peer` runs chats on the room's peers. */
  readonly engines: {
    peer: Engine
    /** This node's own model: the last request it ran (its own chats and the market's tasks), for tests. */
    local: { lastRequest(): ChatRequest | null }
  }
  /** The room's contribution ledger by node id: tokens and tasks served and consumed, from signed receipts. */
  ledger(): Record<string, Contribution>
  readonly tasks: {
    /** Every task of the room now, newest first, as its records say (with its bidders). */
    list(): TaskView[]
    /** Posts a chat request to the room's task market: `{ ...request, requirements? }`. */
    submit(spec: ChatRequest & { requirements?: Requirements }): TaskHandle
    /** Maps a long text over the peers in chunks, then reduces the answers. */
    fanOut(text: string, options?: Partial<FanOutOptions>): Promise<FanOutResult>
    /** Runs a request on k peers and votes; outvoted peers lose reputation. */
    redundant(request: ChatRequest, k: number): Promise<RedundantResult>
    /**
     * Has a model write a plan for `goal` (or runs `options.plan`), then runs its steps on the
     * room's peers: `plan` (validated, or PlanError with the reason), `on('step')`, `steps()`,
     * `result` (the final answer), `cancel()`.
     */
    plan(goal: string, options?: PlanOptions): PlanHandle
  }
  readonly memory: {
    add(text: string, tags?: string[]): Promise<string>
    /** → the id written: the same for an entry of this node's, a new entry's for another node's (only its author may change it). */
    update(id: string, text: string, tags?: string[]): Promise<string>
    /** Deletes this node's entry (a signed tombstone) or an unverifiable value; false for another node's entry. */
    remove(id: string): Promise<boolean>
    list(): Promise<MemoryItem[]>
    /**
     * The `k` entries that match `query` best, best first, each with its `score`: by keyword, and
     * with memory search on by meaning too (ranks fused; `keywordRank`, `vectorRank`, `cosine` say how).
     */
    search(query: string, options?: SearchOptions): Promise<MemoryHit[]>
    /** The memory search switch (the memory view's): on downloads the embedding model once. */
    readonly semantic: {
      state(): MemorySearchState
      enable(): Promise<void>
      disable(): Promise<void>
      /** Resolves once every entry known now is embedded. */
      settled(): Promise<void>
      /** The version (`updatedAt:texthash:length`) an entry was embedded at, if indexed. */
      indexedVersion(id: string): string | undefined
    }
  }
}

declare global {
  var edgeswarm: EdgeswarmApi | undefined
  var edgeswarmPhases: PhasesDebug | undefined
}

/** A micro-net's learning as scripts see it. */
export interface NetView {
  samples: number
  loss: number
  fingerprint: string
  /** `weight`: what it counts for in the average (its samples, clipped to twice the median). */
  contributors: { author: string; samples: number; weight: number }[]
  rejected: number
  points: number
}

function netView(state: NetState): NetView {
  return {
    samples: state.samples,
    loss: state.loss,
    fingerprint: state.fingerprint,
    contributors: state.contributors.map(({ author, samples, weight }) => ({ author, samples, weight })),
    rejected: state.rejected,
    points: state.history.length,
  }
}

function checkRequest(request: unknown): ChatRequest {
  const parsed = v.safeParse(ChatRequestSchema, request)
  if (!parsed.success) throw new ValidationError(`bad request: ${parsed.issues.map((issue) => issue.message).join('; ')}`)
  return parsed.output
}

export function peerView(peer: Peer): PeerView {
  return {
    id: peer.nodeId,
    compatible: peer.compatible,
    protocol: peer.proto,
    capabilities: peer.presence?.caps ?? null,
    engine: peer.presence?.engine ?? null,
    status: peer.presence?.status ?? 'incompatible',
    visible: peer.presence?.visible ?? false,
    tabs: peer.tabs,
    lastSeenMs: peer.lastSeenMs,
    serve: peer.presence?.serve ?? null,
  }
}

const ApiChatSchema = v.object({
  ...ChatRequestSchema.entries,
  route: v.optional(v.picklist(['auto', 'local', 'swarm', 'relay'])),
  memory: v.optional(v.strictObject({ k: v.optional(v.pipe(v.number(), v.integer(), v.minValue(memoryK.min), v.maxValue(memoryK.max))) })),
})

/** Validates a script's request, quotes the room's memory if asked, and runs it where the app would run it. */
async function* apiChat(router: ChatRouter, memory: SwarmNode['memory'], request: unknown): AsyncGenerator<ChatChunk> {
  const parsed = v.safeParse(ApiChatSchema, request)
  if (!parsed.success) throw new ValidationError(`bad chat request: ${parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'request'}: ${issue.message}`).join('; ')}`)
  const { route = 'auto', memory: quoting, ...chat } = parsed.output
  const asked = quoting ? (await quoteMemory(memory, chat, { k: quoting.k ?? memoryK.default })).request : chat
  yield* (await router.route(asked, route)).chunks
}

const defaultFanOut: FanOutOptions = {
  chunkChars: 1_500,
  mapPrompt: 'Summarize this part of a document in a few sentences:',
  reducePrompt: 'Combine these partial summaries into one short summary:',
}

/** What the page API runs on: the app's router, its market, and the peer engine its swarm route uses. */
export interface ApiDeps {
  router: ChatRouter
  market: MarketNode
  peer: PeerEngine
  memorySearch: MemorySearch
  /** This node's own engine, read for `engines.local`. */
  local: { lastRequest(): ChatRequest | null }
  planner: Planner
  update: UpdateApi
}

const PlanOptionsSchema = v.object({
  plan: v.optional(v.unknown()),
  maxSteps: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8))),
  route: v.optional(v.picklist(['auto', 'local', 'swarm', 'relay'])),
  maxTokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8_192))),
  retries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3))),
  requirements: v.optional(RequirementsSchema),
  signal: v.optional(v.instance(AbortSignal)),
})

function checkPlanOptions(options: unknown): PlanOptions {
  const parsed = v.safeParse(PlanOptionsSchema, options ?? {})
  if (!parsed.success) throw new ValidationError(`bad plan options: ${parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'options'}: ${issue.message}`).join('; ')}`)
  // What valibot leaves as undefined is left out, as PlanOptions has it (exact optional properties).
  return Object.fromEntries(Object.entries(parsed.output).filter(([, value]) => value !== undefined))
}

export function createApi(node: SwarmNode, { router, market, peer, memorySearch, local, planner, update }: ApiDeps, learning: Learning): EdgeswarmApi {
  const adapt: { [K in keyof ApiEvents]: (payload: NodeEvents[K]) => ApiEvents[K] } = {
    peers: (peers) => peers.map(peerView),
    join: peerView,
    leave: peerView,
    memory: (items) => [...items],
  }
  return {
    nodeId: node.nodeId,
    room: node.config.room,
    update,
    docSize: () => node.docSize.bytes,
    peers: () => node.peers().map(peerView),
    signaling: () => node.room.signaling(),
    chat: (request) => apiChat(router, node.memory, request),
    engines: { peer, local: { lastRequest: () => local.lastRequest() } },
    router: {
      decide: async (request, costQuality) => {
        const { route, confidence, good, runtime, latencyMs } = await learning.router.decide(checkRequest(request), costQuality)
        return { route, confidence, good, runtime, latencyMs }
      },
      // A promise either way: bad input rejects rather than throws.
      learn: (request, good) =>
        Promise.resolve().then(() => {
          if (typeof good !== 'boolean') throw new ValidationError('good must be true or false')
          learning.router.feedback(checkRequest(request), 'api', good)
          return netView(learning.routerNet.state())
        }),
      state: () => ({ router: netView(learning.routerNet.state()), speed: netView(learning.speedNet.state()) }),
    },
    ledger: () => Object.fromEntries(market.ledgerTotals()),
    tasks: {
      list: () => market.tasks(),
      submit: ({ requirements, ...request }) => market.submit(request, requirements),
      fanOut: (text, options = {}) => market.fanOut(text, { ...defaultFanOut, ...options }),
      redundant: async (request, k) => {
        const result = await market.redundant(request, k)
        // Answers that disagree say the small model is unreliable on this request; agreement, that it did fine.
        if (result.answers.length > 1) learning.router.feedback(request, result.outvoted.length > 0 ? 'vote-lost' : 'vote-won')
        return result
      },
      plan: (goal, options) => planner.plan(goal, checkPlanOptions(options)),
    },
    on: (event, listener) => node.on(event, (payload) => listener(adapt[event](payload as never))),
    memory: {
      add: (text, tags) => node.memory.add({ text, ...(tags ? { tags } : {}) }),
      update: (id, text, tags) => node.memory.update(id, { text, ...(tags ? { tags } : {}) }),
      remove: (id) => node.memory.remove(id),
      list: () => node.memory.list(),
      search: (query, options) => node.memory.search(query, options),
      semantic: {
        state: () => memorySearch.state(),
        enable: () => memorySearch.enable(),
        disable: () => memorySearch.disable(),
        settled: () => memorySearch.settled(),
        indexedVersion: (id) => memorySearch.indexedVersion(id),
      },
    },
  }
}

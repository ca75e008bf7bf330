import * as Y from 'yjs'
import type { Signer } from '../../../src/shared/sign'
import { MarketNode } from '../../../src/market/node'
import { Verdicts } from '../../../src/market/signing'
import type { LivePeer, MarketConfig, Timers } from '../../../src/market/types'
import type { ChatRequest } from '../../../src/inference/types'
import type { TaskEvent, TaskResult } from '../../../src/market/types'
import { SimEngine } from './engine'
import { behaviours as menu, HostileMember, type Behaviour } from './hostile'
import { fixedSigner } from './keys'
import { testRoomId } from './room'
import { Network, type NetworkFaults } from './network'
import { Topology } from './topology'
import { rng, Scheduler, type SimEvent } from './scheduler'

export interface SimOptions {
  nodes: number
  tasks: number
  seed: number
  /** Crashes, partitions and drops; off for the benchmark. */
  faults: boolean
  /** Hostile members (f < n / 3), each with behaviours drawn from the seed. */
  hostile?: number
  config?: Partial<MarketConfig>
  /** 'partial': links as y-webrtc forms them past its cap, updates flooded (topology.ts); 'full' by default. */
  mesh?: 'full' | 'partial'
  /** 'node' (by default): each node checks signatures for itself, as a tab does; 'shared': one verdict cache for the whole room (the process). */
  verdicts?: 'node' | 'shared'
  /**
   * How many live nodes read the ledger at the end of a run (the first ones; every one by
   * default) and are checked to agree: a node checks other posters' receipts only when it
   * reads them, as a tab whose swarm view draws them does.
   */
  ledgerReaders?: number
}

interface SimNode {
  index: number
  signer: Signer
  speed: number | null
  generation: number
  saved: Uint8Array | null
  market: MarketNode | null
  hostile: HostileMember | null
  behaviours: Behaviour[] | null
}

/** What a consumer of a posted task received, and when the task was posted and ended. */
export interface Consumed {
  request: ChatRequest
  events: TaskEvent[]
  postedAt: number
  endedAt: number | null
  error: Error | null
  /** The poster's node and generation: a crash since leaves this consumer behind, like a closed tab. */
  poster: SimNode
  generation: number
}

export interface PostedRecord {
  taskId: string
  poster: number
}

export class MarketSim {
  readonly sched = new Scheduler()
  readonly random: () => number
  readonly net: Network
  readonly nodes: SimNode[] = []
  readonly posted: PostedRecord[] = []
  readonly accepted = new Map<string, number>()
  readonly failed = new Map<string, string>()
  readonly consumed = new Map<string, Consumed>()
  readonly results = new Map<string, TaskResult>()
  /** Requests an honest engine ran, by their first message: an award nobody solicited must not appear. */
  readonly ran: string[] = []
  readonly errors: unknown[] = []
  readonly config: Partial<MarketConfig>
  /** Valid bids in each finished task, as its poster's doc held them when it was done. */
  readonly bidders: number[] = []
  readonly #sharedVerdicts: Verdicts | undefined
  /** Bumped when a node's market starts or stops: the peers it shows the others change. */
  #members = 0
  /**
   * Each node's list of live peers, kept until who sees whom changes, as a node's presence
   * tracker keeps its peers between awareness updates (see `livePeersOf` in the app).
   */
  readonly #peerLists = new Map<number, { network: number; members: number; peers: LivePeer[] }>()
  #shown: { members: number; peers: { index: number; peer: LivePeer }[] } | null = null

  constructor(readonly options: SimOptions) {
    this.random = rng(options.seed)
    const faults: NetworkFaults = options.faults ? { dropRate: 0.05, minDelayMs: 5, maxDelayMs: 120, resyncMs: 250 } : { dropRate: 0, minDelayMs: 10, maxDelayMs: 30, resyncMs: 250 }
    const topology = options.mesh === 'partial' ? new Topology(options.nodes, this.random) : null
    this.net = new Network(this.sched, this.random, faults, options.nodes, topology)
    // Expiry on the scale of a run: tasks of posters gone for good are swept before it ends.
    this.#sharedVerdicts = options.verdicts === 'shared' ? new Verdicts() : undefined
    this.config = { noBidTimeoutMs: 600_000, retainMs: 2_000, maxLog: 100_000, maxLifetimeMs: 8 * 60_000, expirySkewMs: 5_000, ...options.config }
  }

  async init(): Promise<void> {
    const hostile = this.options.hostile ?? 0
    for (let index = 0; index < this.options.nodes; index++) {
      // Most nodes can run tasks; a few only post (no WebGPU, model not loaded).
      const speed = index === 0 || this.random() < 0.75 ? 10 + Math.floor(this.random() * 40) : null
      // The last `hostile` nodes are hostile: 2 to 4 behaviours each, drawn from the menu.
      const behaviours = index >= this.options.nodes - hostile ? drawBehaviours(this.random) : null
      this.nodes.push({ index, signer: await fixedSigner(index), speed, generation: 0, saved: null, market: null, hostile: null, behaviours })
    }
    if (new Set(this.nodes.map((node) => node.signer.nodeId)).size !== this.nodes.length) throw new Error('two simulated nodes share an identity')
    for (const node of this.nodes) this.start(node)
  }

  isHostile(index: number): boolean {
    return this.nodes[index]?.behaviours != null
  }

  honestIds(): string[] {
    return this.nodes.filter((node) => !node.behaviours && node.speed !== null).map((node) => node.signer.nodeId)
  }

  timersOf(node: SimNode): Timers {
    const generation = node.generation
    return {
      setTimeout: (callback, delayMs) =>
        this.sched.at(this.sched.now + Math.max(0, Math.round(delayMs)), node.index, () => {
          if (node.generation === generation) callback()
        }),
      clearTimeout: (handle) => this.sched.cancel(handle as SimEvent),
    }
  }

  start(node: SimNode): void {
    // A guid and client id of its own, not random: Yjs's default guid costs some 30 random draws a doc.
    const doc = new Y.Doc({ guid: `sim-${node.index}-${node.generation}` })
    doc.clientID = node.index + 1 + node.generation * 100_003
    if (node.saved) Y.applyUpdate(doc, node.saved)
    this.net.attach(node.index, doc, node.saved !== null)
    const timers = this.timersOf(node)
    if (node.behaviours) {
      const untilMs = Math.max(2_000, this.options.tasks * 250) * 2 + 60_000
      node.hostile = new HostileMember(
        doc,
        node.signer,
        testRoomId,
        new Set(node.behaviours),
        timers,
        () => this.sched.now,
        this.random,
        250,
        untilMs,
        () => this.honestIds(),
        (error) => this.errors.push(error),
      )
      this.#members++
      return
    }
    let count = 0
    node.market = new MarketNode({
      doc,
      signer: node.signer,
      roomId: testRoomId,
      engine: node.speed === null ? null : new SimEngine(timers, node.speed, false, (request) => this.ran.push(request.messages[0]?.content ?? '')),
      livePeers: () => this.livePeers(node.index),
      clock: () => this.sched.now,
      timers,
      config: this.config,
      newId: () => `t-${node.index}-g${node.generation}-n${count++}`,
      ...(this.#sharedVerdicts ? { verdicts: this.#sharedVerdicts } : {}),
      onError: (error) => this.errors.push(error),
    })
    node.market.on('done', (result) => {
      this.accepted.set(result.taskId, (this.accepted.get(result.taskId) ?? 0) + 1)
      this.results.set(result.taskId, result)
      const bids = (doc.getMap('tasks').get(result.taskId) as Y.Map<unknown> | undefined)?.get('bids')
      if (bids instanceof Y.Map) this.bidders.push(bids.size)
    })
    node.market.on('failed', ({ taskId, reason }) => this.failed.set(taskId, reason))
    this.#members++
  }

  crash(node: SimNode): void {
    if (!node.market || node.behaviours) return
    node.market.destroy()
    node.market = null
    this.#members++
    const doc = this.net.docs[node.index]
    node.saved = doc ? Y.encodeStateAsUpdate(doc) : null
    node.generation++
    this.net.detach(node.index)
  }

  livePeers(self: number): LivePeer[] {
    const kept = this.#peerLists.get(self)
    if (kept && kept.network === this.net.generation && kept.members === this.#members) return kept.peers
    const peers: LivePeer[] = []
    for (const { index, peer } of this.#shownPeers()) if (index !== self && this.net.sees(self, index)) peers.push(peer)
    this.#peerLists.set(self, { network: this.net.generation, members: this.#members, peers })
    return peers
  }

  /** What every member shows the others in its presence, made once for the room until who is up changes. */
  #shownPeers(): { index: number; peer: LivePeer }[] {
    if (this.#shown?.members === this.#members) return this.#shown.peers
    const peers: { index: number; peer: LivePeer }[] = []
    for (const node of this.nodes) {
      if (!(node.market || node.hostile)) continue
      // A hostile member claims a fast engine: it wants awards.
      const decodeTokensPerS = node.hostile ? 1_000 : node.speed
      const engine = decodeTokensPerS === null ? null : ({ kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 1000, decodeTokensPerS } as const)
      peers.push({ index: node.index, peer: { nodeId: node.signer.nodeId, engine, queueLength: 0, visible: true, linkDelayMs: 30 } })
    }
    this.#shown = { members: this.#members, peers }
    return peers
  }

  post(at: number, poster: number): void {
    this.sched.at(at, -1, () => {
      let node = this.nodes[poster]
      for (let k = 0; !node?.market && k < this.nodes.length; k++) node = this.nodes[(poster + k) % this.nodes.length]
      const market = node?.market
      if (!node || !market) return
      const maxTokens = 4 + Math.floor(this.random() * 20)
      const request: ChatRequest = { messages: [{ role: 'user', content: `question ${this.posted.length} from ${node.index}` }], max_tokens: maxTokens }
      const handle = market.submit(request)
      this.posted.push({ taskId: handle.id, poster: node.index })
      const consumed: Consumed = { request, events: [], postedAt: this.sched.now, endedAt: null, error: null, poster: node, generation: node.generation }
      this.consumed.set(handle.id, consumed)
      void (async () => {
        try {
          for await (const event of handle.chunks) consumed.events.push(event)
        } catch (error) {
          consumed.error = error as Error
        }
        consumed.endedAt = this.sched.now
      })()
    })
  }

  /** Runs events in time order; after each instant, waits for the nodes' async work. */
  async run(untilMs: number): Promise<void> {
    for (;;) {
      if (this.sched.live === 0) return
      const batch = this.sched.nextBatch()
      if (batch.length === 0 || this.sched.now > untilMs) return
      for (const event of batch) event.run()
      await this.settle()
      this.net.flush()
    }
  }

  async settle(): Promise<void> {
    do await new Promise<void>((resolve) => setImmediate(resolve))
    while (this.nodes.some((node) => (node.market?.pendingWork ?? 0) > 0 || (node.hostile?.work.pending ?? 0) > 0))
  }
}

function drawBehaviours(random: () => number): Behaviour[] {
  const count = 2 + Math.floor(random() * 3)
  const pool = [...menu]
  const drawn: Behaviour[] = []
  while (drawn.length < count && pool.length > 0) drawn.push(...pool.splice(Math.floor(random() * pool.length), 1))
  return drawn.sort()
}

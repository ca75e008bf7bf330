import { createApi } from './api'
import { LocalEngine, type LocalEngineStatus } from './inference/local-engine'
import type { EngineInfo } from './inference/types'
import { RelayEngine } from './inference/relay-engine'
import { Conversations } from './memory/conversations'
import { openLocalDb } from './memory/local-db'
import { chatSettings, engineSettings, memorySearchSettings, modelSettings, netSettings, routerSettings, serveSettings, type ModelSettings } from './memory/settings'
import { MemorySearch } from './memory/memory-search'
import { openEmbeddingStore } from './memory/embedding-db'
import { createEmbedder, embedPins } from './inference/embedding/create'
import { defaultEmbeddingModel } from './inference/embedding/embedder'
import { createMicronetPool, pooledScorer } from './micronets/runtime/browser'
import type { EnginePresence } from './shared/protocol'
import { ChatRouter } from './swarm/routing/chat-router'
import { memoryK, quoteMemory } from './swarm/memory-quote'
import { askSwarmOn } from './swarm/agent/ask-swarm'
import { landInLastRoom, startRooms } from './rooms'
import { PeerEngine } from './swarm/routing/peer-engine'
import { Planner } from './swarm/plan/planner'
import { RelayWatch } from './swarm/routing/relay-watch'
import { Learning } from './swarm/learning/learning'
import { MarketNode, type LivePeer, type MarketEmbedder } from './market'
import { SwarmNode } from './swarm/node'
import { keptLivePeers } from './market/presence/live-peers'
import { parseRoomUrl, shareLink, type RoomConfig } from './swarm/room/room-url'
import { h } from './ui/dom'
import type { Busy } from './shared/busy'
import { holdWhileDownloading, type Updates } from './update'
import { mountUpdateBar } from './ui/update-bar'
import { mountVersionView } from './ui/version-view'
import { mountChatView } from './ui/chat-view'
import { mountEngineView } from './ui/engine-view'
import { startLocalModel } from './ui/model-offer'
import { mountLearningView } from './ui/learning-view'
import { mountMemoryView } from './ui/memory-view'
import { createShell, mountRoomBar } from './ui/shell'
import { mountThemeSwitch } from './ui/theme'
import { mountSwarmView } from './ui/swarm-view'
import { mountServeControl } from './ui/serve-control'
import { mountNetView } from './ui/net-view'
import { mountSummarizeView } from './ui/summarize-view'
import { mountTaskView } from './ui/task-view'
import { mountPlanView } from './ui/plan-view'
import { memoryPhases } from './shared/phases'

/** The composition root: reads the URL, starts one node, mounts the UI, publishes the API. `busy`: what this tab is in the middle of, which `updates` waits for. */
export async function startApp(root: HTMLElement, { busy, updates }: { busy: Busy; updates: Updates }): Promise<void> {
  const shell = createShell(root)
  mountUpdateBar(shell.header, updates.flow)
  if (!window.isSecureContext) {
    // WebCrypto (identity, signatures), Web Locks and the service worker exist only here.
    shell.notify(`edgeswarm needs a secure page: open it over https, or as http://localhost / http://127.0.0.1 on this machine (${location.origin} is neither).`, 'error')
    return
  }
  const db = await openLocalDb()
  const landing = await landInLastRoom(db)
  let config: RoomConfig
  try {
    config = parseRoomUrl(location.href)
  } catch (error) {
    shell.notify(error instanceof Error ? error.message : String(error), 'error')
    shell.swarm.append(h('p', {}, h('a', { href: '/' }, 'Start a new room')))
    return
  }
  if (config.generated) {
    const url = new URL(location.href)
    url.searchParams.set('room', config.room)
    url.hash = config.key === null ? '' : `key=${encodeURIComponent(config.key)}`
    history.replaceState(null, '', url)
  }
  for (const warning of config.warnings) shell.notify(warning, 'warn')
  let warnedUndecryptable = false
  const warnUndecryptable = (): void => {
    if (warnedUndecryptable) return
    warnedUndecryptable = true
    shell.notify('A node with a different room key is in this room: it cannot read or join it, and you cannot see it. If you expected peers here, check the #key of your link.', 'warn')
  }
  watchUndecryptable(warnUndecryptable)

  const urlParams = new URL(location.href).searchParams
  // Relay-only links are a setting too; the URL's ice= wins over it.
  const iceFromUrl = urlParams.has('ice')
  if (!iceFromUrl) config = { ...config, ice: (await netSettings.load(db)).ice ?? 'all' }
  const node = await SwarmNode.start(config)
  // The patched y-webrtc reports an undecryptable signaling message to the room's guard instead of throwing it.
  node.room.on('drop', (drop) => drop.where === 'signaling' && drop.error === 'OperationError' && warnUndecryptable())
  const report = (error: unknown): void => shell.notify(error instanceof Error ? error.message : String(error), 'error')
  node.on('error', report)
  for (const problem of node.netProblems()) shell.notify(problem, 'error')
  node.on('net-problem', (problem) => shell.notify(problem, 'error'))
  const settings = await engineSettings.load(db)
  const engine = new LocalEngine(urlParams.has('engine') ? config.engine : (settings.engine ?? 'auto'), urlParams.has('model') ? config.model : settings.modelUrl || null, {
    contextSize: config.contextSize,
    askFirst: true,
    chosenId: (await modelSettings.load(db)).chosenId,
    modelSha256: urlParams.has('model') ? config.modelSha256 : undefined,
  })
  const publish = (status: LocalEngineStatus): void => node.presence.update({ engine: enginePresence(status, engine.info()) })
  engine.on('status', publish)
  publish(engine.status())
  mountRoomBar(shell, node, shareLink(location.origin, config))
  mountThemeSwitch(shell.header)
  const consent = { load: () => modelSettings.load(db), save: (next: ModelSettings) => modelSettings.save(db, next) }
  mountEngineView(
    shell.engine,
    engine,
    report,
    {
      current: settings,
      save: async (next) => {
        await engineSettings.save(db, next)
        location.reload()
      },
    },
    consent,
  )
  mountVersionView(shell.engine, engine)
  holdWhileDownloading(engine, busy)
  const pool = createMicronetPool({ workers: 1 })
  const learning = await Learning.open({
    doc: node.room.doc,
    signer: node.signer,
    roomId: node.roomId,
    marks: node.room.marks,
    notify: report,
    db,
    workerScorer: (net) => pooledScorer(pool, 'router', net),
    ...(await routerSettings.load(db)),
    report: (error) => console.warn('micro-nets:', error),
  })
  // Learning still waiting to be published goes out before the tab does.
  window.addEventListener('pagehide', () => void learning.flush().catch(() => undefined))
  // The market's link delay is each peer's measured round trip (getStats), halved.
  const livePeers: () => LivePeer[] = keptLivePeers(
    () => node.peers(),
    () => node.linkStats(),
  )
  // "Serve peers: when idle" bids only while `busy` (what this tab is in the middle of) holds nothing.
  let serve = await serveSettings.load(db)
  node.presence.update({ serve: serve.mode })
  // Memory search's model, once it is on, runs peers' embedding tasks too (it is made below).
  let embedder: () => MarketEmbedder | null = () => null
  const market = new MarketNode({
    embedder: () => embedder(),
    serve: () => serve,
    busy: () => busy.busy,
    doc: node.room.doc,
    signer: node.signer,
    roomId: node.roomId,
    engine,
    livePeers,
    visible: () => document.visibilityState === 'visible',
    speed: learning.speed,
    onError: (error) => console.warn('market:', error),
  })
  const reportQueue = (): void => {
    const queue = market.queueLength()
    if (node.presence.local().queue !== queue) node.presence.update({ queue })
  }
  market.on('change', reportQueue)
  busy.on('change', () => {
    if (!busy.busy) market.reconsider()
  })
  mountServeControl(shell.header, {
    current: serve,
    save: (next) => {
      serve = next
      node.presence.update({ serve: next.mode })
      market.reconsider()
      serveSettings.save(db, next).catch(report)
    },
  })
  // The relay is re-probed on a schedule, with a breaker, instead of asked once at start.
  const relay = new RelayWatch(new RelayEngine({ token: () => settings.relayToken ?? '' }))
  relay.load(() => undefined).catch((error: unknown) => console.warn('relay:', error instanceof Error ? error.message : error))
  // One peer engine: the swarm route and the page API's `engines.peer` are the same.
  const peer = new PeerEngine(market, livePeers)
  const router = new ChatRouter({ nodeId: node.nodeId, engines: { local: engine, swarm: peer, relay }, decide: (request) => learning.router.decide(request) })
  const planner = new Planner({ router, market, onError: (error) => console.warn('planner:', error) })
  mountChatView(
    shell.chat,
    {
      ask: (request, route, signal, context) => router.route(request, route, signal, context),
      feedback: (request, signal) => void learning.router.feedback(request, signal),
      quoteMemory: (request) => quoteMemory(node.memory, request, { k: memoryK.default }),
      settings: { load: () => chatSettings(node.roomId).load(db), save: (next) => chatSettings(node.roomId).save(db, next) },
      agentTools: { memory: node.memory, askSwarm: askSwarmOn(market) },
      plan: (goal) => planner.plan(goal),
      busy,
    },
    new Conversations(db),
    node.nodeId,
    report,
  )
  const summarize = mountSummarizeView(shell.chat, (text) => market.fanOut(text, summarizeOptions), node.nodeId)
  mountSwarmView(shell.swarm, node, () => node.memory.items().length, market)
  mountNetView(
    shell.swarm,
    node,
    {
      fromUrl: iceFromUrl,
      save: async (ice) => {
        await netSettings.save(db, { ice })
        location.reload()
      },
    },
    report,
  )
  mountPlanView(shell.swarm, planner, node.nodeId)
  mountTaskView(shell.swarm, market, node.nodeId)
  mountLearningView(shell.swarm, learning, { nodeId: node.nodeId, saveCostQuality: (costQuality) => void routerSettings.save(db, { costQuality }).catch(report) })
  const memorySearch = new MemorySearch({
    memory: node.memory,
    room: node.roomId,
    // `embedModel` in the URL names another GGUF encoder (tests use a generated one), `embedSha256` what it must hash to.
    model: urlParams.has('embedModel') ? { url: urlParams.get('embedModel') ?? '', bytes: 0, label: 'the embedding model in the URL' } : defaultEmbeddingModel,
    createEmbedder: (url) => createEmbedder(url, embedPins(url, urlParams.get('embedSha256'))),
    openStore: openEmbeddingStore,
    saveEnabled: (enabled) => memorySearchSettings.save(db, { enabled }),
    onError: (error) => console.warn('memory search:', error),
  })
  mountMemoryView(shell.memory, node, report, memorySearch)
  embedder = () => memorySearch.loadedEmbedder()
  memorySearch.on('state', (state) => {
    const loaded = state.phase === 'on' ? memorySearch.loadedEmbedder() : null
    const advertised = node.presence.local().embedder ?? null
    if ((loaded?.modelId ?? null) === (advertised?.modelId ?? null)) return
    node.presence.update({ embedder: loaded === null ? null : { modelId: loaded.modelId, dimensions: loaded.dimensions } })
    market.reconsider()
  })
  // Turned on in an earlier visit: the model is in OPFS already, so this needs no network.
  if ((await memorySearchSettings.load(db)).enabled) memorySearch.enable().catch(report)
  if (config.generated) shell.notify('New room created. Copy the invite link to bring in peers.')
  await startRooms(landing, { shell, node, summarize, report })

  // Where a memory write's time goes (README, "Fast at room scale"): read by the perf-memory bench.
  globalThis.edgeswarmPhases = { memory: { snapshot: () => memoryPhases.snapshot(), marks: () => memoryPhases.marks(), reset: () => memoryPhases.reset() } }
  globalThis.edgeswarm = createApi(node, { router, market, peer, memorySearch, local: engine, planner, update: updates.api }, learning)
  // ort's start-up (fetch and compile 14 MB of wasm) waits until someone is about to ask: every
  // tab opened pays it otherwise, and a room's tabs all opening at once share the same cores.
  shell.chat.addEventListener('focusin', () => void learning.router.warmUp().catch((error: unknown) => console.warn('micro-nets:', error)), { once: true })
  document.documentElement.dataset.ready = 'true'
  window.dispatchEvent(new CustomEvent('edgeswarm:ready'))
  await startLocalModel(engine, consent)
}

const summarizeOptions = {
  chunkChars: 1_500,
  mapPrompt: 'Summarize this part of a document in a few sentences:',
  reducePrompt: 'Combine these partial summaries, in order, into one short summary:',
  maxTokens: 256,
}

/**
 * `contextSize`: the loaded model's window (0 while none is loaded), which peers fit their
 * requests to; `supports`: whether it runs tools and JSON schemas, which tasks needing them ask for.
 */
function enginePresence(status: LocalEngineStatus, { contextSize, supports }: EngineInfo): EnginePresence {
  return {
    kind: status.kind,
    modelId: status.modelId.slice(0, 128),
    // Waiting for the user's agreement, or paused, is no model to peers.
    state: status.state === 'offer' || status.state === 'paused' ? 'none' : status.state,
    contextSize,
    supports,
    ...(status.download ? { progress: status.download.fraction } : {}),
    prefillTokensPerS: status.prefillTokensPerS,
    decodeTokensPerS: status.decodeTokensPerS,
  }
}

/**
 * y-webrtc decrypts signaling messages without catching, so a wrong room key surfaces only as
 * unhandled OperationErrors. We take them as the sign they are, and tell the user once.
 */
function watchUndecryptable(warnOnce: () => void): void {
  let warned = false
  window.addEventListener('unhandledrejection', (event) => {
    if (!(event.reason instanceof DOMException) || event.reason.name !== 'OperationError') return
    event.preventDefault()
    if (warned) return
    warned = true
    warnOnce()
  })
}

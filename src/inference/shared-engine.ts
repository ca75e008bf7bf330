import { noSupports } from './types'
import { ChannelClosedError, registerError } from '../shared/errors'
import { randomId } from '../shared/ids'
import { RpcClient } from '../shared/rpc'
import type { Engine } from './engine'
import { countOn, EngineClient, serveEngine, type EngineMethods } from './engine-rpc'
import { SharedLoad } from './shared-load'
import { announceHost, answerHellos, askForHosts, hostAddress, onHostAnnounced, serveTabs, tabEndpoint, tabProtocolVersion } from './tab-channel'
import type { ChatChunk, ChatMessage, ChatRequest, EngineInfo, EngineKind, LoadProgress, TokenCount } from './types'

export type EngineRole = 'host' | 'client'

function engineChannelName(kind: EngineKind, modelId: string): string {
  return `edgeswarm-engine:${kind}:${modelId}`
}

/** One lock per protocol version: a tab of another build neither serves nor asks this one. */
function engineLockName(channelName: string, version: number): string {
  return `${channelName}:v${version}`
}

/** A tab of this profile that runs the model with another tab protocol: it cannot share with this one. */
export interface OtherVersionHost {
  version: number
  /** Its app build, as it said in the handshake (null for a tab of protocol 2, found by its lock). */
  build: string | null
  relation: 'older' | 'newer'
}

/**
 * The tabs of another version that run this model: those that answer the handshake (protocol 3
 * on), and those that hold the model's lock of another version (older tabs, which do not answer).
 */
export async function otherVersionHosts(kind: EngineKind, modelId: string, options: { locks?: Pick<LockManager, 'query'>; waitMs?: number } = {}): Promise<OtherVersionHost[]> {
  const name = engineChannelName(kind, modelId)
  const channel = new BroadcastChannel(name)
  const locks = options.locks ?? navigator.locks
  const [answered, held] = await Promise.all([askForHosts(channel, `hello-${randomId(12)}`, options.waitMs).finally(() => channel.close()), locks.query().then((snapshot) => snapshot.held ?? [])])
  const found = new Map<number, string | null>()
  for (const host of answered) found.set(host.version, host.build)
  const prefix = `${name}:v` // engineLockName without its number
  for (const lock of held) {
    const suffix = lock.name?.startsWith(prefix) ? lock.name.slice(prefix.length) : ''
    if (/^\d+$/.test(suffix) && !found.has(Number(suffix))) found.set(Number(suffix), null)
  }
  found.delete(tabProtocolVersion)
  return [...found].map(([version, build]) => ({ version, build, relation: version < tabProtocolVersion ? 'older' : 'newer' }))
}

/** The tab this one asked went away (it closed, or this tab took over): ask the one that runs the model now. */
export class HostChangedError extends ChannelClosedError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'HostChangedError'
}

export interface SharedEngineOptions {
  kind: EngineKind
  modelId: string
  /** Builds the real engine; called only in the tab that holds the lock. */
  create: () => Engine
  onRoleChange?: (role: EngineRole) => void
  locks?: Pick<LockManager, 'request'>
}

interface HostModel {
  engine: Engine
  loading: SharedLoad
}

interface Connection {
  endpoint: ReturnType<typeof tabEndpoint>
  engine: EngineClient
}

/**
 * One loaded model per browser profile, however many tabs are open. The tab holding the Web
 * Lock for this model runs the engine and serves the others over a BroadcastChannel, with the
 * engine RPC. When that tab closes, its lock passes to the next tab in line, which loads the
 * model (from the cache) and serves from then on; a tab's load that the change cut off asks the
 * new host, and joins its load.
 */
export class SharedEngine implements Engine {
  readonly kind: EngineKind
  readonly #tabId = randomId(12)
  readonly #channel: BroadcastChannel
  #role: EngineRole = 'client'
  /** In the host tab: the model and its one load. */
  #model: HostModel | null = null
  /** In a client tab: the channel to whichever tab hosts now. */
  #connection: Connection | null
  #connections = 0
  #hostId: string | null = null
  readonly #releaseLock = new AbortController()
  readonly #stopWatching: () => void
  #closed = false

  constructor(private readonly options: SharedEngineOptions) {
    this.kind = options.kind
    const name = engineChannelName(options.kind, options.modelId)
    this.#channel = new BroadcastChannel(name)
    this.#connection = this.#connect()
    this.#stopWatching = onHostAnnounced(this.#channel, (hostId) => {
      if (this.#role !== 'client' || hostId === this.#hostId) return
      this.#hostId = hostId
      this.#reconnect()
    })
    const locks = options.locks ?? navigator.locks
    locks.request(engineLockName(name, tabProtocolVersion), { signal: this.#releaseLock.signal }, () => this.#becomeHost()).catch(() => undefined)
  }

  get role(): EngineRole {
    return this.#role
  }

  /** A fresh address for every host, so that a late answer of the old one cannot settle a new call. */
  #connect(): Connection {
    const endpoint = tabEndpoint(this.#channel, `${this.#tabId}.${this.#connections++}`, hostAddress)
    return { endpoint, engine: new EngineClient(this.kind, new RpcClient<EngineMethods>(endpoint), this.options.modelId) }
  }

  #disconnect(reason: string): void {
    this.#connection?.engine.close(new HostChangedError(reason))
    this.#connection?.endpoint.close()
    this.#connection = null
  }

  #reconnect(): void {
    this.#disconnect('the tab that ran the model closed; ask again')
    this.#connection = this.#connect()
  }

  async #becomeHost(): Promise<void> {
    if (this.#closed) return
    this.#role = 'host'
    this.#hostId = this.#tabId
    this.#disconnect('this tab now runs the model')
    announceHost(this.#channel, this.#tabId)
    const stopServing = serveTabs(this.#channel, (endpoint) => serveEngine(this, endpoint))
    const stopAnswering = answerHellos(this.#channel, this.#tabId)
    this.options.onRoleChange?.('host')
    // Hold the lock (and serve) until this tab goes away.
    await new Promise<void>((resolve) => this.#releaseLock.signal.addEventListener('abort', () => resolve(), { once: true }))
    stopAnswering()
    stopServing()
  }

  #hostModel(): HostModel {
    if (this.#model) return this.#model
    const engine = this.options.create()
    this.#model = { engine, loading: new SharedLoad((onProgress) => engine.load(onProgress)) }
    return this.#model
  }

  /** In the host tab: the one load, shared by this tab and every tab it serves. Elsewhere: the host's, through it. */
  async load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (this.#role === 'host') return this.#hostModel().loading.join(onProgress, signal)
      const connection = this.#connection
      if (!connection) throw new ChannelClosedError('the shared engine is closed')
      try {
        return await connection.engine.load(onProgress, signal)
      } catch (error) {
        if (!(error instanceof HostChangedError) || this.#closed) throw error
      }
    }
  }

  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    if (this.#role === 'host') return this.#hostChat(request, signal)
    if (!this.#connection) throw new ChannelClosedError('the shared engine is closed')
    return this.#connection.engine.chat(request, signal)
  }

  /** A chat that arrives while the model loads waits for the load (and can be stopped). */
  async *#hostChat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
    const model = this.#hostModel()
    await model.loading.wait(signal)
    yield* model.engine.chat(request, signal)
  }

  /** Figures of the model, wherever it runs (a client's come with each of the host's answers). */
  info(): EngineInfo {
    const engine = this.#role === 'host' ? this.#model?.engine : this.#connection?.engine
    return (
      engine?.info() ?? {
        kind: this.kind,
        modelId: this.options.modelId,
        contextSize: 0,
        availability: 'unavailable',
        reason: 'the model is not loaded',
        supports: noSupports,
        prefillTokensPerS: 0,
        decodeTokensPerS: 0,
      }
    )
  }

  /** The model's count, wherever it runs (estimated while no model is loaded here or in the host tab). */
  countTokens(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<TokenCount> {
    const engine = this.#role === 'host' ? this.#model?.engine : this.#connection?.engine
    if (!engine) throw new ChannelClosedError('the shared engine is closed')
    return countOn(engine, messages, signal)
  }

  /** Unloads the model for every tab when this tab runs it; elsewhere it just stops wanting it. */
  async unload(): Promise<void> {
    const model = this.#model
    this.#model = null
    await model?.engine.unload()
  }

  /** Leaves: a host hands the lock to the next tab in line. */
  close(): void {
    this.#closed = true
    this.#releaseLock.abort()
    this.#stopWatching()
    this.#disconnect('the shared engine is closed')
    void this.unload().catch(() => undefined)
    this.#channel.close()
  }
}

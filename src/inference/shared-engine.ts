import { InferenceError } from '../shared/errors'
import { randomId } from '../shared/ids'
import type { Engine } from './engine'
import { LoadOnce } from './load-once'
import { RemoteEngine, serveEngine } from './rpc'
import { hostAddress, isHostSignal, onNewClient, tabEndpoint } from './tab-channel'
import type { ChatChunk, ChatRequest, EngineInfo, EngineKind, LoadProgress } from './types'

export type EngineRole = 'host' | 'client'

export interface SharedEngineOptions {
  kind: EngineKind
  modelId: string
  /** Builds the real engine; called only in the tab that holds the lock. */
  create: () => Engine
  onRoleChange?: (role: EngineRole) => void
  locks?: LockManager
}

/**
 * One loaded model per browser profile, however many tabs are open. The tab holding the Web
 * Lock for this model runs the engine and serves the others over a BroadcastChannel, with the
 * same engine protocol as a worker. When that tab closes, its lock passes to the next tab in
 * line, which loads the model (from the cache) and serves from then on.
 */
export class SharedEngine implements Engine {
  readonly kind: EngineKind
  readonly #tabId = randomId(12)
  readonly #channel: BroadcastChannel
  #role: EngineRole = 'client'
  #host: LoadOnce | null = null
  #remote: RemoteEngine
  #remoteEndpoint: ReturnType<typeof tabEndpoint>
  #hostId: string | null = null
  #hostReady: Promise<void>
  #markHostReady: () => void = () => undefined
  readonly #releaseLock = new AbortController()
  #wantLoaded: ((progress: LoadProgress) => void) | null = null
  /** Bumped on every change of host, so a call cut off by one can tell and try again. */
  #epoch = 0

  constructor(private readonly options: SharedEngineOptions) {
    this.kind = options.kind
    const name = `edgeswarm-engine:${options.kind}:${options.modelId}`
    this.#channel = new BroadcastChannel(name)
    this.#hostReady = new Promise((resolve) => (this.#markHostReady = resolve))
    this.#remoteEndpoint = tabEndpoint(this.#channel, this.#tabId, hostAddress)
    this.#remote = new RemoteEngine(options.kind, this.#remoteEndpoint, options.modelId)
    this.#channel.addEventListener('message', this.#onSignal)
    this.#channel.postMessage({ from: this.#tabId, to: hostAddress, body: { kind: 'host?' } })
    const locks = options.locks ?? navigator.locks
    locks
      .request(name, { signal: this.#releaseLock.signal }, () => this.#becomeHost())
      .catch(() => undefined)
  }

  get role(): EngineRole {
    return this.#role
  }

  readonly #onSignal = (event: MessageEvent): void => {
    const data = event.data as { body?: unknown; to?: unknown } | null
    const body = data?.body
    if (!isHostSignal(body)) return
    if (body.kind === 'host?' && this.#role === 'host') this.#announce()
    if (body.kind === 'host-ready' && this.#role === 'client' && body.hostId !== this.#hostId) this.#switchHost(body.hostId)
  }

  #announce(): void {
    this.#channel.postMessage({ from: hostAddress, to: '*', body: { kind: 'host-ready', hostId: this.#tabId } })
  }

  /** A new host: what was pending with the old one is lost (its tab closed); start afresh. */
  #switchHost(hostId: string): void {
    if (this.#hostId !== null) {
      this.#remote.dispose('the tab that ran the model closed; ask again')
      this.#remoteEndpoint.close()
      this.#remoteEndpoint = tabEndpoint(this.#channel, this.#tabId, hostAddress)
      this.#remote = new RemoteEngine(this.kind, this.#remoteEndpoint, this.options.modelId)
    }
    this.#hostId = hostId
    this.#epoch++
    this.#markHostReady()
  }

  async #becomeHost(): Promise<void> {
    this.#role = 'host'
    this.#remote.dispose('this tab now runs the model')
    this.#remoteEndpoint.close()
    const host = new LoadOnce(this.options.create())
    this.#host = host
    const stopServing: (() => void)[] = []
    const stopListening = onNewClient(this.#channel, (clientId) => {
      const endpoint = tabEndpoint(this.#channel, hostAddress, clientId)
      stopServing.push(serveEngine(host, endpoint), () => endpoint.close())
    })
    this.#hostId = this.#tabId
    this.#epoch++
    this.#markHostReady()
    this.options.onRoleChange?.('host')
    const wanted = this.#wantLoaded
    if (wanted) await host.load(wanted).catch(() => undefined)
    this.#announce()
    // Hold the lock (and serve) until this tab goes away.
    await new Promise<void>((resolve) => this.#releaseLock.signal.addEventListener('abort', () => resolve(), { once: true }))
    stopListening()
    for (const stop of stopServing) stop()
  }

  async load(onProgress: (progress: LoadProgress) => void): Promise<void> {
    this.#wantLoaded = onProgress
    for (;;) {
      await this.#hostReady
      const epoch = this.#epoch
      try {
        await (this.#host ? this.#host.load(onProgress) : this.#remote.load(onProgress))
        return
      } catch (error) {
        if (epoch === this.#epoch) throw error
      }
    }
  }

  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    if (this.#host) return this.#host.chat(request, signal)
    if (this.#hostId === null) throw new InferenceError('no tab runs the model yet: load it first')
    return this.#remote.chat(request, signal)
  }

  info(): EngineInfo {
    return this.#host ? this.#host.info() : this.#remote.info()
  }

  /** Fresh figures from the host tab (tokens/s are measured there). */
  async refreshInfo(): Promise<EngineInfo> {
    return this.#host ? this.#host.info() : await this.#remote.refreshInfo()
  }

  /** Unloads the model for every tab when this tab runs it; elsewhere it just stops wanting it. */
  async unload(): Promise<void> {
    this.#wantLoaded = null
    await this.#host?.unload()
  }

  /** Leaves: a host hands the lock to the next tab in line. */
  close(): void {
    this.#releaseLock.abort()
    this.#channel.removeEventListener('message', this.#onSignal)
    this.#remote.dispose()
    this.#remoteEndpoint.close()
    void this.#host?.unload().catch(() => undefined)
    this.#channel.close()
  }
}

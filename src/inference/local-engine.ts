import { noSupports } from './types'
import { AbortError, EngineUnavailableError } from '../shared/errors'
import { Emitter, type Unsubscribe } from '../shared/events'
import type { EngineChoice } from './types'
import { DownloadMeter, type DownloadFigures } from './download-meter'
import type { Engine } from './engine'
import { SharedEngine, type EngineRole } from './shared-engine'
import { SharedLoad } from './shared-load'
import { countOn } from './engine-rpc'
import { estimateCount } from './tokens'
import type { ChatChunk, ChatMessage, ChatRequest, EngineAvailability, EngineInfo, EngineKind, LoadProgress, TokenCount } from './types'
import { pinsOf, type CatalogEntry } from './model-catalog'
import { offerFor, type DeviceFacts, type ModelOffer } from './model-fit'
import { createWasmEngine } from './wasm/create'
import { deleteDownload, deleteDownloadedModels } from './wasm/model-download'
import { chooseModel } from './webgpu/model-choice'
import { probeWebGpu } from './webgpu/probe'
import { createWebGpuEngine } from './webgpu/create'
import type { DeviceLoss } from './webgpu/device-watch'
import { wllamaOffload } from './wasm/gpu-offload'

export type LocalKind = 'webgpu' | 'wasm' | 'none'

/** What the local engine is doing, for the UI and for peers (in the awareness). */
export interface LocalEngineStatus {
  kind: LocalKind
  modelId: string
  /** 'offer': waiting for the user to agree to a download; 'paused': a download the user paused (what it fetched is kept). */
  state: 'none' | 'offer' | 'paused' | 'downloading' | 'loading' | 'ready' | 'busy' | 'failed'
  download?: DownloadFigures
  /** Why there is no engine, or why it is not the one asked for. */
  message?: string
  role?: EngineRole
  prefillTokensPerS: number
  decodeTokensPerS: number
}

interface LocalEngineEvents {
  status: LocalEngineStatus
}

interface Plan {
  kind: Exclude<LocalKind, 'none'>
  modelId: string
  create: () => Engine
  /** Where it runs, shown while it loads and after (wllama on WebGPU or on the CPU, and why). */
  note?: string
  /** What to load instead when this fails to load (wllama on the CPU after its WebGPU path failed). */
  fallback?: Plan
}

/** A second device loss this soon after the first is not reloaded again: the user is asked. */
const repeatedLossMs = 60_000

/** Download progress is shown at most this often unless the percent moves. */
const progressEveryMs = 250

export interface LocalEngineOptions {
  /** A context window to force (the URL's `ctx=`); default: chosen from the device's memory. */
  contextSize?: number | undefined
  /**
   * Download nothing until `begin` names the model the user agreed to (the app); without it a
   * `load` fetches the offer's selection at once (the engine harness of the tests).
   */
  askFirst?: boolean
  /** The model the user picked on an earlier visit (a catalog id). */
  chosenId?: string | undefined
  /** The link's `sha256=`: what the GGUF of `modelUrl` must hash to. */
  modelSha256?: string | undefined
}

/**
 * This node's own model: offers the catalog with what this device can run (WebGPU or WASM, or
 * what the URL forces), loads the model the user agreed to, pauses, resumes and cancels its
 * download, and shares one loaded model among the profile's tabs.
 */
export class LocalEngine implements Engine {
  readonly #events = new Emitter<LocalEngineEvents>()
  #status: LocalEngineStatus
  #engine: SharedEngine | null = null
  #running = 0
  #lastRequest: ChatRequest | null = null
  /** The one load of this node's model: `start`, `load` and a question asked meanwhile all wait for it. */
  readonly #starting = new SharedLoad((onProgress) => this.#start(onProgress))
  #offer: Promise<ModelOffer | null> | null = null
  /** The model to load: set by `begin` (or, without `askFirst`, by the first load). */
  #selected: CatalogEntry | null = null
  /** Aborted by pause and cancel: the load under way stops waiting and its worker ends. */
  #stop = new AbortController()
  /** When the GPU device under the model was last lost (Date.now()); 0: never. */
  #lastLossMs = 0
  private readonly contextSize: number | undefined

  constructor(
    private readonly choice: EngineChoice,
    private readonly modelUrl: string | null,
    private readonly options: LocalEngineOptions = {},
  ) {
    this.contextSize = options.contextSize
    this.#status = { kind: 'none', modelId: '', state: 'none', prefillTokensPerS: 0, decodeTokensPerS: 0 }
  }

  /** The models offered on this device, with the recommendation and the selection; null with engine=none. */
  offer(): Promise<ModelOffer | null> {
    this.#offer ??= this.#makeOffer()
    return this.#offer
  }

  async #makeOffer(): Promise<ModelOffer | null> {
    if (this.choice === 'none') return null
    const deviceMemoryGb = (navigator as Navigator & { deviceMemory?: number }).deviceMemory
    const device: DeviceFacts = { webgpu: await probeWebGpu(), cores: navigator.hardwareConcurrency, ...(deviceMemoryGb === undefined ? {} : { deviceMemoryGb }) }
    const modelUrl = this.modelUrl === null ? null : new URL(this.modelUrl, location.href).href
    return offerFor({ choice: this.choice, modelUrl, device, chosenId: this.options.chosenId, modelSha256: this.options.modelSha256 })
  }

  /** Waits for the user: the offer is shown (state 'offer'), or a paused download (state 'paused'). */
  ask(entry: CatalogEntry, paused = false): void {
    this.#selected = entry
    this.#set({
      kind: entry.kind,
      modelId: entry.id,
      state: paused ? 'paused' : 'offer',
      message: paused ? 'Download paused: what was fetched is kept. Resume continues from there.' : 'Nothing is downloaded until you press Download.',
    })
  }

  /** Loads `entry`, the model the user agreed to (or resumes its download); never throws, like `start`. */
  begin(entry: CatalogEntry): Promise<void> {
    if (this.#starting.underWay && this.#selected?.id === entry.id) return this.#starting.join()
    this.#halt()
    this.#selected = entry
    return this.#starting.join()
  }

  /** Stops the download and keeps what it fetched (OPFS segments, WebLLM's finished files); `begin` resumes. */
  pause(): void {
    if (this.#status.state !== 'downloading' && this.#status.state !== 'loading') return
    this.#halt()
    this.#set({ state: 'paused', message: 'Download paused: what was fetched is kept. Resume continues from there.' })
  }

  /** Stops the download and deletes what it fetched of this model. */
  async cancel(): Promise<void> {
    const entry = this.#selected
    this.#halt()
    this.#status = withoutDownload(this.#status)
    this.#set({ state: 'offer', message: 'Download cancelled: the partial model is deleted.' })
    if (entry) await deleteModelFiles(entry)
  }

  /** Ends the load under way, if any: its waiters stop and the worker that downloads ends. */
  #halt(): void {
    this.#stop.abort()
    this.#stop = new AbortController()
    this.#engine?.close()
    this.#engine = null
    this.#starting.reset()
  }

  status(): LocalEngineStatus {
    return this.#status
  }

  /** The engine this node runs, or will once it has chosen: WebGPU, else WASM. */
  get kind(): EngineKind {
    return this.#status.kind === 'webgpu' ? 'webgpu' : 'wasm'
  }

  info(): EngineInfo {
    const { modelId, state, message, prefillTokensPerS, decodeTokensPerS } = this.#status
    const availability: EngineAvailability = state === 'ready' || state === 'busy' ? 'ready' : state === 'downloading' || state === 'loading' ? 'loading' : 'unavailable'
    const contextSize = availability === 'ready' ? (this.#engine?.info().contextSize ?? 0) : 0
    const supports = availability === 'ready' ? (this.#engine?.info().supports ?? noSupports) : noSupports
    return { kind: this.kind, modelId, contextSize, availability, supports, ...(message !== undefined && availability !== 'ready' ? { reason: message } : {}), prefillTokensPerS, decodeTokensPerS }
  }

  /** The loaded model's own count; the estimate (`exact: false`) while there is none. */
  countTokens(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<TokenCount> {
    const engine = this.#engine
    if (!engine || this.info().availability !== 'ready') return Promise.resolve(estimateCount(messages))
    return countOn(engine, messages, signal).catch((): TokenCount => estimateCount(messages))
  }

  /** Chooses and loads the model (once: later calls wait for the same start); see `start`. */
  async load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    await this.#starting.join(onProgress, signal)
    const { state, message } = this.#status
    if (state !== 'ready' && state !== 'busy') throw new EngineUnavailableError(message ?? 'no local model')
  }

  /** Unloads the model (it stays cached): a later `load` loads it again. */
  async unload(): Promise<void> {
    const engine = this.#engine
    this.#engine = null
    this.#starting.reset()
    await engine?.unload().catch(() => undefined)
    engine?.close()
    this.#set({ state: 'none', message: 'The model is unloaded.' })
  }

  on<K extends keyof LocalEngineEvents>(event: K, listener: (payload: LocalEngineEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  #set(fields: Partial<LocalEngineStatus>): void {
    this.#status = { ...this.#status, ...fields }
    this.#events.emit('status', this.#status)
  }

  /** Chooses and loads, once; never throws: failures end in state 'failed' or 'none' with a message. */
  start(): Promise<void> {
    return this.#starting.join()
  }

  async #start(onProgress: (progress: LoadProgress) => void): Promise<void> {
    if (this.choice === 'none') {
      this.#set({ kind: 'none', state: 'none', message: 'No local model (engine=none): questions go to peers or the relay.' })
      return
    }
    if (!this.#selected) {
      const offer = await this.offer()
      if (!offer) return
      if (this.options.askFirst === true) return this.ask(offer.selected)
      this.#selected = offer.selected
    }
    const note = (await this.offer())?.note
    const stop = this.#stop.signal
    // Pause and cancel abort `stop` while this waits; they set the state then.
    const stopped = (): boolean => stop.aborted
    const entry = this.#selected
    const plan = await this.#planOf(entry)
    if (stopped()) return
    if (!plan.ok) {
      this.#set({ kind: entry.kind, modelId: entry.id, state: 'failed', message: `${plan.reason}. Choose a WASM model and press Download.` })
      return
    }
    let failure = await this.#tryLoad(plan.plan, stop, onProgress, plan.plan.note ?? note)
    const fallback = plan.plan.fallback
    if (failure !== null && fallback && !stopped()) failure = await this.#tryLoad(fallback, stop, onProgress, fallback.note)
    if (failure !== null && !stopped()) this.#set({ state: 'failed', message: failure })
  }

  async #planOf(entry: CatalogEntry): Promise<{ ok: true; plan: Plan } | { ok: false; reason: string }> {
    const contextSize = this.contextSize === undefined ? {} : { contextSize: this.contextSize }
    if (entry.kind === 'wasm') {
      const pinned = pinsOf(entry)
      const wasmOptions = { ...contextSize, ...(pinned ? { pinned } : {}) }
      const cpu: Plan = { kind: 'wasm', modelId: entry.id, create: () => createWasmEngine(entry.url, wasmOptions) }
      const offload = wllamaOffload(this.choice, await probeWebGpu())
      if (offload.gpuLayers === 0) return { ok: true, plan: { ...cpu, ...(this.choice === 'wasm' ? {} : { note: offload.note }) } }
      const onCpu = { ...cpu, note: 'WebGPU failed to load this model: wllama runs it on the CPU (WASM).' }
      return { ok: true, plan: { ...cpu, create: () => createWasmEngine(entry.url, { ...wasmOptions, gpuLayers: offload.gpuLayers }), note: offload.note, fallback: onCpu } }
    }
    const probe = await probeWebGpu()
    if (!probe.ok) return { ok: false, reason: `WebGPU cannot run ${entry.id} here: ${probe.reason}` }
    const deviceMemoryGb = (navigator as Navigator & { deviceMemory?: number }).deviceMemory
    const choice = chooseModel(probe.adapter, { model: entry.needs, ...(deviceMemoryGb === undefined ? {} : { deviceMemoryGb }) })
    if (!choice.ok) return { ok: false, reason: choice.reason }
    const onDeviceLost = (loss: DeviceLoss): void => this.#deviceLost(entry, loss)
    return { ok: true, plan: { kind: 'webgpu', modelId: entry.id, create: () => createWebGpuEngine({ modelId: entry.id, ...contextSize, onDeviceLost }) } }
  }

  /**
   * The GPU device under the loaded model was lost (the engine has unloaded): the model loads
   * again, from the browser's cache, on a new device, and peers see it loading, then ready. It is
   * the model the user agreed to, so nothing new is fetched without asking; a second loss within
   * a minute is not reloaded: the user is asked (a WASM model, or a reload of the page).
   */
  #deviceLost(entry: CatalogEntry, loss: DeviceLoss): void {
    if (this.#selected?.id !== entry.id) return
    const what = `The WebGPU device was lost (${loss.reason}${loss.message ? `: ${loss.message}` : ''})`
    const nowMs = Date.now()
    const repeated = this.#lastLossMs > 0 && nowMs - this.#lastLossMs < repeatedLossMs
    this.#lastLossMs = nowMs
    this.#halt()
    if (repeated) {
      this.#set({ state: 'failed', message: `${what}, again within a minute. Choose a WASM model and press Download, or reload the page.` })
      return
    }
    this.#set({ state: 'loading', message: `${what}: loading ${entry.id} again.` })
    void this.#starting.join()
  }

  /** Loads `plan`; null when it is ready, else what went wrong (a stop leaves the state to pause or cancel). */
  async #tryLoad(plan: Plan, stop: AbortSignal, onProgress: (progress: LoadProgress) => void, note: string | undefined): Promise<string | null> {
    this.#engine?.close()
    const meter = new DownloadMeter()
    const engine: SharedEngine = new SharedEngine({ kind: plan.kind, modelId: plan.modelId, create: plan.create, onRoleChange: (role) => this.#takeOver(engine, role) })
    this.#engine = engine
    const { message: _shown, ...rest } = this.#status
    this.#status = rest
    this.#set({ kind: plan.kind, modelId: plan.modelId, state: 'loading', role: engine.role, ...(note === undefined ? {} : { message: note }) })
    // Ask the browser to keep the model under storage pressure; older browsers lack the call.
    void Promise.resolve()
      .then(() => navigator.storage.persist())
      .catch(() => false)
    try {
      // Status goes to the UI and every peer (awareness): a 1 GB download is ~17,000 chunks, so
      // it is shown when the percent moves or every 250 ms, and measured on every chunk.
      let shown = { percent: -1, atMs: 0 }
      /** Where the engine says the model went ("model loaded, 28/28 layers on WebGPU"), when it says. */
      let placed = null as string | null
      const loading = engine.load((progress) => {
        if (stop.aborted) return
        onProgress(progress)
        if (progress.phase === 'load' && progress.text.startsWith('model loaded ')) placed = progress.text
        if (progress.phase !== 'download' || progress.totalBytes <= 0 || progress.loadedBytes >= progress.totalBytes) return this.#set({ state: 'loading' })
        const download = meter.update(progress.loadedBytes, progress.totalBytes)
        const percent = Math.floor(download.fraction * 100)
        const nowMs = performance.now()
        if (percent === shown.percent && nowMs - shown.atMs < progressEveryMs) return
        shown = { percent, atMs: nowMs }
        this.#set({ state: 'downloading', download })
      })
      await untilStopped(loading, stop)
      this.#status = withoutDownload(this.#status)
      this.#set({ state: 'ready', role: engine.role, ...(placed === null ? {} : { message: `${placed.charAt(0).toUpperCase()}${placed.slice(1)}.` }) })
      if (engine.role === 'host') void this.#warmUp(engine)
      return null
    } catch (error) {
      engine.close()
      if (this.#engine === engine) this.#engine = null
      return `${plan.kind === 'webgpu' ? 'WebGPU' : 'WASM'} engine failed: ${error instanceof Error ? error.message : String(error)}.`
    }
  }

  /**
   * A few tokens right after loading: peers then see this node's measured speed from the start
   * (a node that has never answered would bid at a guessed, slow speed and never win), and on
   * WebGPU the shaders are compiled before the first real question.
   */
  async #warmUp(engine: SharedEngine): Promise<void> {
    try {
      const warmUp = engine.chat({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, enable_thinking: false })
      for await (const chunk of warmUp) if (chunk.choices[0].finish_reason) break
      const info = engine.info()
      this.#set({ prefillTokensPerS: info.prefillTokensPerS, decodeTokensPerS: info.decodeTokensPerS })
    } catch {
      // A failed warm-up only means the speed stays unmeasured until the first answer.
    }
  }

  /** The tab that ran the model closed and this one took over: it loads the model (from cache). */
  #takeOver(engine: SharedEngine, role: EngineRole): void {
    const wasReady = this.#status.state === 'ready' || this.#status.state === 'busy'
    this.#set({ role })
    if (!wasReady) return
    this.#set({ state: 'loading' })
    engine
      .load(() => undefined)
      .then(
        () => this.#set({ state: 'ready' }),
        (error: unknown) => this.#set({ state: 'failed', message: `could not take over the model: ${error instanceof Error ? error.message : String(error)}` }),
      )
  }

  /**
   * Streams an answer from the local model; EngineUnavailableError when there is none. A
   * question asked while the model loads waits for it (the user can still stop it): here for
   * this node's start, in the shared engine for a load after the tab that held the model closed.
   */
  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
    await this.#starting.wait(signal)
    const engine = this.#engine
    const { state } = this.#status
    if (!engine || state === 'none' || state === 'failed') throw new EngineUnavailableError(this.#status.message ?? 'no local model')
    this.#lastRequest = request
    this.#running++
    this.#set({ state: 'busy' })
    try {
      yield* engine.chat(request, signal)
    } finally {
      this.#running--
      const info = engine.info()
      this.#set({ state: this.#running > 0 ? 'busy' : 'ready', prefillTokensPerS: info.prefillTokensPerS, decodeTokensPerS: info.decodeTokensPerS })
    }
  }

  /** The last request this node's model was asked to run (its own chats and the market's tasks alike), for tests; read-only. */
  lastRequest(): ChatRequest | null {
    return this.#lastRequest === null ? null : structuredClone(this.#lastRequest)
  }

  /** Unloads the model and deletes every cached copy (OPFS for wllama, Cache Storage for WebLLM). */
  async deleteModel(): Promise<void> {
    await this.#engine?.unload().catch(() => undefined)
    this.#halt()
    await deleteModelCaches()
    this.#status = withoutDownload(this.#status)
    this.#set({ state: this.#selected ? 'offer' : 'none', message: 'Model deleted from this browser. Press Download to fetch it again.' })
  }

  close(): void {
    this.#engine?.close()
    this.#events.clear()
  }
}

export async function deleteModelCaches(): Promise<void> {
  await deleteDownloadedModels().catch(() => undefined)
  const root = await navigator.storage.getDirectory().catch(() => null)
  await root?.removeEntry('cache', { recursive: true }).catch(() => undefined)
  for (const name of await caches.keys().catch((): string[] => [])) {
    if (name.startsWith('webllm')) await caches.delete(name)
  }
}

export async function storageUsage(): Promise<{ usedBytes: number; quotaBytes: number; persisted: boolean }> {
  const estimate = await navigator.storage.estimate().catch((): StorageEstimate => ({}))
  const persisted = await navigator.storage.persisted().catch(() => false)
  return { usedBytes: estimate.usage ?? 0, quotaBytes: estimate.quota ?? 0, persisted }
}

function withoutDownload(status: LocalEngineStatus): LocalEngineStatus {
  const { download: _dropped, ...rest } = status
  return rest
}

/** `loading`, or an AbortError as soon as `stop` aborts (the load itself is ended by closing its engine). */
function untilStopped(loading: Promise<void>, stop: AbortSignal): Promise<void> {
  loading.catch(() => undefined)
  if (stop.aborted) return Promise.reject(new AbortError('the model load was stopped'))
  return new Promise<void>((resolve, reject) => {
    const onStop = (): void => reject(new AbortError('the model load was stopped'))
    stop.addEventListener('abort', onStop, { once: true })
    loading.then(resolve, reject).finally(() => stop.removeEventListener('abort', onStop))
  })
}

/** Deletes one model's files: its OPFS folder (WASM) or its entries in WebLLM's Cache Storage (WebGPU). */
export async function deleteModelFiles(entry: CatalogEntry): Promise<void> {
  if (entry.kind === 'wasm') return deleteDownload(entry.url)
  // WebLLM keys its caches by URL: the weights under …/<model id>/…, the library as <model id without -MLC>_cs1k-webgpu.wasm.
  const name = entry.id.replace(/-MLC$/, '')
  for (const cacheName of await caches.keys().catch((): string[] => [])) {
    if (!cacheName.startsWith('webllm')) continue
    const cache = await caches.open(cacheName)
    for (const request of await cache.keys()) if (request.url.includes(name)) await cache.delete(request)
  }
}

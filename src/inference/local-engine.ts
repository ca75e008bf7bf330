import { noSupports } from './types'
import { EngineUnavailableError } from '../shared/errors'
import { Emitter, type Unsubscribe } from '../shared/events'
import type { EngineChoice } from './types'
import { DownloadMeter, type DownloadFigures } from './download-meter'
import type { Engine } from './engine'
import { SharedEngine, type EngineRole } from './shared-engine'
import { SharedLoad } from './shared-load'
import { countOn } from './engine-rpc'
import { estimateCount } from './tokens'
import type { ChatChunk, ChatMessage, ChatRequest, EngineAvailability, EngineInfo, EngineKind, LoadProgress, TokenCount } from './types'
import { createWasmEngine, defaultWasmModelUrl } from './wasm/create'
import { deleteDownloadedModels } from './wasm/model-download'
import { modelIdOf } from './wasm/wllama-engine'
import { chooseModel } from './webgpu/model-choice'
import { probeWebGpu } from './webgpu/probe'
import { createWebGpuEngine } from './webgpu/create'

export type LocalKind = 'webgpu' | 'wasm' | 'none'

/** What the local engine is doing, for the UI and for peers (in the awareness). */
export interface LocalEngineStatus {
  kind: LocalKind
  modelId: string
  state: 'none' | 'downloading' | 'loading' | 'ready' | 'busy' | 'failed'
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
}

/** Download progress is shown at most this often unless the percent moves. */
const progressEveryMs = 250

/**
 * This node's own model: picks WebGPU when the device can run Qwen3-1.7B, else WASM, else
 * none (or what the URL forces); shares one loaded model among the profile's tabs; falls back
 * from WebGPU to WASM when WebGPU cannot load, and says why.
 */
export class LocalEngine implements Engine {
  readonly #events = new Emitter<LocalEngineEvents>()
  #status: LocalEngineStatus
  #engine: SharedEngine | null = null
  #running = 0
  /** The one load of this node's model: `start`, `load` and a question asked meanwhile all wait for it. */
  readonly #starting = new SharedLoad((onProgress) => this.#start(onProgress))

  constructor(
    private readonly choice: EngineChoice,
    private readonly modelUrl: string | null,
    /** A context window to force (the URL's `ctx=`); default: chosen from the device's memory. */
    private readonly contextSize?: number,
  ) {
    this.#status = { kind: 'none', modelId: '', state: 'none', prefillTokensPerS: 0, decodeTokensPerS: 0 }
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
    const notes: string[] = []
    const plans = await this.#plans(notes)
    for (const plan of plans) {
      if (await this.#tryLoad(plan, notes, onProgress)) return
    }
    this.#set({ kind: 'none', state: 'failed', message: notes.join(' ') || 'No engine can run here.' })
  }

  async #plans(notes: string[]): Promise<Plan[]> {
    const wasm: Plan = {
      kind: 'wasm',
      modelId: modelIdOf(this.modelUrl ?? defaultWasmModelUrl),
      create: () => createWasmEngine(this.modelUrl ?? defaultWasmModelUrl, this.contextSize === undefined ? {} : { contextSize: this.contextSize }),
    }
    if (this.choice === 'wasm' || (this.choice === 'auto' && this.modelUrl !== null)) return [wasm]
    const webgpu = await this.#webgpuPlan()
    if (!webgpu.ok) {
      notes.push(`WebGPU cannot run the model here: ${webgpu.reason}. Using the WASM engine.`)
      return [wasm]
    }
    return [webgpu.plan, wasm]
  }

  async #webgpuPlan(): Promise<{ ok: true; plan: Plan } | { ok: false; reason: string }> {
    const probe = await probeWebGpu()
    if (!probe.ok) return probe
    const deviceMemoryGb = (navigator as Navigator & { deviceMemory?: number }).deviceMemory
    const choice = chooseModel(probe.adapter, deviceMemoryGb === undefined ? {} : { deviceMemoryGb })
    if (!choice.ok) return { ok: false, reason: choice.reason }
    const modelId = choice.modelId
    return {
      ok: true,
      plan: {
        kind: 'webgpu',
        modelId,
        create: () => createWebGpuEngine({ modelId, ...(this.contextSize === undefined ? {} : { contextSize: this.contextSize }) }),
      },
    }
  }

  async #tryLoad(plan: Plan, notes: string[], onProgress: (progress: LoadProgress) => void): Promise<boolean> {
    this.#engine?.close()
    const meter = new DownloadMeter()
    const engine: SharedEngine = new SharedEngine({ kind: plan.kind, modelId: plan.modelId, create: plan.create, onRoleChange: (role) => this.#takeOver(engine, role) })
    this.#engine = engine
    this.#set({ kind: plan.kind, modelId: plan.modelId, state: 'loading', role: engine.role, ...(notes.length ? { message: notes.join(' ') } : {}) })
    // Ask the browser to keep the model under storage pressure; older browsers lack the call.
    void Promise.resolve()
      .then(() => navigator.storage.persist())
      .catch(() => false)
    try {
      // Status goes to the UI and every peer (awareness): a 1 GB download is ~17,000 chunks, so
      // it is shown when the percent moves or every 250 ms, and measured on every chunk.
      let shown = { percent: -1, atMs: 0 }
      await engine.load((progress) => {
        onProgress(progress)
        if (progress.phase !== 'download' || progress.totalBytes <= 0 || progress.loadedBytes >= progress.totalBytes) return this.#set({ state: 'loading' })
        const download = meter.update(progress.loadedBytes, progress.totalBytes)
        const percent = Math.floor(download.fraction * 100)
        const nowMs = performance.now()
        if (percent === shown.percent && nowMs - shown.atMs < progressEveryMs) return
        shown = { percent, atMs: nowMs }
        this.#set({ state: 'downloading', download })
      })
      this.#set({ state: 'ready', role: engine.role })
      if (engine.role === 'host') void this.#warmUp(engine)
      return true
    } catch (error) {
      engine.close()
      this.#engine = null
      notes.push(`${plan.kind === 'webgpu' ? 'WebGPU' : 'WASM'} engine failed: ${error instanceof Error ? error.message : String(error)}.`)
      if (plan.kind === 'webgpu') notes.push('Falling back to the WASM engine.')
      return false
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

  /** Unloads the model and deletes every cached copy (OPFS for wllama, Cache Storage for WebLLM). */
  async deleteModel(): Promise<void> {
    await this.#engine?.unload().catch(() => undefined)
    this.#engine?.close()
    this.#engine = null
    this.#starting.reset()
    await deleteModelCaches()
    this.#set({ state: 'none', message: 'Model deleted from this browser. Reload to download it again.' })
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

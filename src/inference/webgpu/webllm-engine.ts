import { noSupports } from '../types'
import { refuseUnsupported } from '../supports'
import type { AppConfig, InitProgressReport, ModelRecord, WebWorkerMLCEngine } from '@mlc-ai/web-llm'
import { AbortError, EngineUnavailableError, ModelLoadError, throwIfAborted } from '../../shared/errors'
import type { Engine } from '../engine'
import type { ChatChunk, ChatRequest, EngineInfo, LoadProgress } from '../types'
import { streamChat } from './chat-stream'
import { forgetCached, integrityFailedUrl, messageOf, toModelLoadError } from './load-error'
import { chooseModel, type AdapterDescription } from './model-choice'
import { probeWebGpu, type WebGpuProbe } from './probe'
import { knownModels, needsFromRecord, qwen3F16, type ModelNeeds } from './models'
import { toLoadProgress } from './progress'
import { webLlmAppConfig } from './app-config'
import { qwen3KvBytesPerToken, qwen3Layers, webGpuContextSize } from '../context-size'
import { failureAsPromise, hostWorker, unlessAborted, withTimeout, type HostedWorker } from './settle'
import { loseDevices, watchDeviceLoss, type DeviceLoss } from './device-watch'

export interface WebLlmEngineOptions {
  /** Makes the worker that hosts WebLLM (workers/webgpu-engine.worker.ts); `createWebGpuEngine` supplies it. */
  createWorker: () => Worker
  /** A WebLLM model id to load instead of the Qwen3-1.7B build the adapter picks. */
  modelId?: string
  /** What the page knows of its WebGPU adapter; default: the page's one probe (`probeWebGpu`). */
  probe?: () => Promise<WebGpuProbe>
  /** System memory in GB; default `navigator.deviceMemory` (absent in some browsers: not checked then). */
  deviceMemoryGb?: number
  /** WebLLM's `context_window_size` to force; default: chosen from the device's memory (context-size.ts). */
  contextSize?: number
  /** Failures off the caller's path: a progress callback that throws, an unload that fails, a dead worker. */
  onError?: (error: unknown) => void
  /** The loaded model's GPU device was lost: the engine is unloaded (its worker ended) and a `load` starts it anew. */
  onDeviceLost?: (loss: DeviceLoss) => void
}

const unloadTimeoutMs = 3_000

/** Qwen3-1.7B (or `modelId`) through WebLLM in a dedicated worker, on WebGPU. */
export class WebLlmEngine implements Engine {
  readonly kind = 'webgpu' as const
  private engine: WebWorkerMLCEngine | undefined
  private worker: HostedWorker | undefined
  private loading: Promise<void> | undefined
  private loadController: AbortController | undefined
  private modelId: string
  private contextSize: number
  private prefillTokensPerS = 0
  private decodeTokensPerS = 0

  constructor(private readonly options: WebLlmEngineOptions) {
    const known = knownModels.find((model) => model.modelId === options.modelId)
    this.modelId = options.modelId ?? qwen3F16.modelId
    this.contextSize = (known ?? (options.modelId === undefined ? qwen3F16 : undefined))?.contextWindowSize ?? 0
  }

  /** Checks the adapter (EngineUnavailableError before any download), then downloads and loads. A second call while one runs joins it. */
  load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    if (this.engine) return Promise.resolve()
    this.loading ??= this.loadOnce(onProgress, signal).finally(() => {
      this.loading = undefined
      this.loadController = undefined
    })
    return this.loading
  }

  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk, void, undefined> {
    const engine = this.engine
    const worker = this.worker
    if (!engine || !worker) throw new EngineUnavailableError('the WebGPU model is not loaded: load it first')
    refuseUnsupported(request, this.info().supports, 'the WebGPU engine')
    yield* streamChat({
      backend: engine,
      modelId: this.modelId,
      request,
      signal,
      onFailure: worker.onFailure,
      onSpeed: (prefill, decode) => {
        this.prefillTokensPerS = prefill
        this.decodeTokensPerS = decode
      },
    })
  }

  info(): EngineInfo {
    return {
      kind: this.kind,
      modelId: this.modelId,
      contextSize: this.contextSize,
      availability: this.engine ? 'ready' : 'unavailable',
      // Tools in Qwen3's text format and JSON schemas under xgrammar (chat-stream.ts).
      supports: this.engine ? { tools: true, jsonSchema: true } : noSupports,
      prefillTokensPerS: this.prefillTokensPerS,
      decodeTokensPerS: this.decodeTokensPerS,
    }
  }

  /** Unloads the model and ends the worker; a load in progress fails with AbortError. Never rejects. */
  async unload(): Promise<void> {
    this.loadController?.abort()
    const engine = this.engine
    const worker = this.worker
    this.engine = undefined
    this.worker = undefined
    if (engine) {
      try {
        await withTimeout(engine.unload(), unloadTimeoutMs, () => new Error(`WebLLM unload took over ${unloadTimeoutMs} ms`))
      } catch (error) {
        this.reportError(error)
      }
    }
    if (worker) {
      // Chats still waiting on the worker end with this error instead of waiting forever.
      worker.terminate(new Error('the WebGPU engine was unloaded'))
    }
  }

  private async loadOnce(onProgress: (progress: LoadProgress) => void, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal)
    const controller = new AbortController()
    this.loadController = controller
    const signals = [signal, controller.signal]
    const report = (progress: LoadProgress): void => {
      try {
        onProgress(progress)
      } catch (error) {
        this.reportError(error)
      }
    }
    report({ phase: 'download', loadedBytes: 0, totalBytes: 0, text: 'Checking the WebGPU adapter' })
    const adapter = await unlessAborted(this.adapterDescription(), signals)
    const override = this.options.modelId === undefined ? undefined : await unlessAborted(overrideNeeds(this.options.modelId), signals)
    const model = this.chosenModel(adapter, override?.needs)
    const appConfig: AppConfig = webLlmAppConfig(override?.record ? [override.record] : [])
    const { CreateWebWorkerMLCEngine } = await unlessAborted(importWebLlm(), signals)

    const worker = this.startWorker()
    const unwatch = watchDeviceLoss(worker.worker, (loss) => this.onDeviceLost(worker, loss))
    // Terminating the worker fails it: the watcher's port closes with it.
    worker.onFailure(unwatch)
    let last: LoadProgress | undefined
    const initProgressCallback = (progress: InitProgressReport): void => {
      try {
        last = toLoadProgress(progress, last)
      } catch (error) {
        this.reportError(error)
        return
      }
      report(last)
    }
    const failure = failureAsPromise(worker.onFailure)
    try {
      const contextWindowSize = this.contextWindowFor(adapter, model)
      const creating = CreateWebWorkerMLCEngine(worker.worker, model.modelId, { initProgressCallback, appConfig }, { context_window_size: contextWindowSize })
      const failed = failure.promise.then((error) => Promise.reject(error))
      this.engine = await unlessAborted(Promise.race([creating, failed]), signals)
      this.worker = worker
      this.modelId = model.modelId
      this.contextSize = contextWindowSize
      worker.onFailure((error) => this.onWorkerFailed(worker, error))
    } catch (error) {
      worker.terminate(error instanceof Error ? error : new Error(messageOf(error)))
      // WebLLM caches a file before it checks it: a mismatch would fail every retry from the cache.
      const failedUrl = integrityFailedUrl(error)
      if (failedUrl !== null) await forgetCached(failedUrl)
      throw error instanceof AbortError ? error : toModelLoadError(error)
    } finally {
      failure.dispose()
    }
  }

  private async adapterDescription(): Promise<AdapterDescription> {
    const probe = await (this.options.probe ?? probeWebGpu)()
    if (!probe.ok) throw new EngineUnavailableError(`WebGPU not available: ${probe.reason}`)
    return probe.adapter
  }

  private chosenModel(adapter: AdapterDescription, override: ModelNeeds | undefined): { modelId: string; vramRequiredMb: number; contextWindowSize: number } {
    const deviceMemoryGb = this.options.deviceMemoryGb ?? (navigator as Navigator & { deviceMemory?: number }).deviceMemory
    const choice = chooseModel(adapter, {
      ...(deviceMemoryGb === undefined ? {} : { deviceMemoryGb }),
      ...(override === undefined ? {} : { model: override }),
    })
    if (!choice.ok) throw new EngineUnavailableError(choice.reason)
    return choice
  }

  /** Qwen3's window grown from the record's 4K where the memory the browser reports allows it (not for other models: their KV size is not known here). */
  private contextWindowFor(adapter: AdapterDescription, model: { modelId: string; vramRequiredMb: number; contextWindowSize: number }): number {
    const qwen3 = knownModels.some((known) => known.modelId === model.modelId)
    return webGpuContextSize({
      vramRequiredMb: model.vramRequiredMb,
      contextWindowSize: model.contextWindowSize,
      kvBytesPerToken: qwen3 ? qwen3KvBytesPerToken : 0,
      layers: qwen3Layers,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      deviceMemoryGb: this.options.deviceMemoryGb ?? (navigator as Navigator & { deviceMemory?: number }).deviceMemory,
      forced: this.options.contextSize,
    })
  }

  private startWorker(): HostedWorker {
    let worker: Worker
    try {
      worker = this.options.createWorker()
    } catch (error) {
      throw new ModelLoadError(`the WebGPU engine worker could not start: ${messageOf(error)}`)
    }
    return hostWorker(worker)
  }

  /** As a lost GPU would: the worker destroys its devices (for tests; the page owns its worker). */
  loseDevice(): void {
    if (this.worker) loseDevices(this.worker.worker)
  }

  private onDeviceLost(worker: HostedWorker, loss: DeviceLoss): void {
    // During a load WebLLM fails the load itself (DeviceLostError); after an unload nothing is left.
    if (this.worker !== worker) return
    const error = new EngineUnavailableError(`the WebGPU device was lost (${loss.reason}${loss.message ? `: ${loss.message}` : ''})`)
    this.engine = undefined
    this.worker = undefined
    worker.terminate(error)
    try {
      this.options.onDeviceLost?.(loss)
    } catch (thrown) {
      this.reportError(thrown)
    }
  }

  private onWorkerFailed(worker: HostedWorker, error: Error): void {
    if (this.worker !== worker) return
    this.engine = undefined
    this.worker = undefined
    worker.terminate(error)
    this.reportError(error)
  }

  private reportError(error: unknown): void {
    try {
      ;(this.options.onError ?? console.warn)(error)
    } catch {
      // An onError that throws has nowhere left to report to.
    }
  }
}

/*
 * WebLLM is one 6 MB module: imported only once the adapter check passes, so a page without
 * WebGPU (or that never loads this engine) does not fetch it on the main thread.
 */
async function importWebLlm(): Promise<typeof import('@mlc-ai/web-llm')> {
  try {
    return await import('@mlc-ai/web-llm')
  } catch (error) {
    throw new ModelLoadError(`the WebLLM module could not be loaded: ${messageOf(error)}`)
  }
}

/** A `modelId` override's needs; one outside the catalog brings WebLLM's own record (unpinned: an explicit choice of the caller). */
async function overrideNeeds(modelId: string): Promise<{ needs: ModelNeeds; record?: ModelRecord }> {
  const known = knownModels.find((model) => model.modelId === modelId)
  if (known) return { needs: known }
  const { prebuiltAppConfig } = await importWebLlm()
  const record = prebuiltAppConfig.model_list.find((candidate) => candidate.model_id === modelId)
  if (!record) throw new ModelLoadError(`unknown WebLLM model id "${modelId}"`)
  return { needs: needsFromRecord(record), record }
}

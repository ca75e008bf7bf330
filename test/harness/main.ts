// A bare page that builds engines exactly as the app does, for test/contracts/engine.ts.
import type { Engine } from '../../src/inference/engine'
import { LocalEngine } from '../../src/inference/local-engine'
import { RelayEngine } from '../../src/inference/relay-engine'
import type { EngineChoice } from '../../src/inference/types'
import { createWasmEngine, type WasmEngineOptions, type WllamaBuild } from '../../src/inference/wasm/create'
import nextWasmUrl from 'wllama-next/esm/wasm/wllama.wasm?url'
import './micronets'
import { deleteDownloadedModels, downloadModel, type DownloadProgress, type PinnedFile } from '../../src/inference/wasm/model-download'
import type { WebGpuEntry } from '../../src/inference/model-catalog'
import { webLlmAppConfig } from '../../src/inference/webgpu/app-config'
import { forgetCached, integrityFailedUrl, toModelLoadError } from '../../src/inference/webgpu/load-error'
import { Sha256 } from '../../src/shared/sha256'
import { loseDevices, watchDeviceLoss, type DeviceLoss } from '../../src/inference/webgpu/device-watch'

/** Which wllama runs the WASM engine: the app's dependency, or the newer one beside it (`wllama-next`). */
export type WllamaName = 'app' | 'next'

const nextBuild: WllamaBuild = {
  createWorker: () => new Worker(new URL('./wllama-next.worker.ts', import.meta.url), { type: 'module', name: 'edgeswarm-wasm-engine-next' }),
  wasmUrl: nextWasmUrl,
}

export interface Harness {
  createWasmEngine(modelUrl: string, options?: WasmEngineOptions & { wllama?: WllamaName }): Engine
  /** The relay engine against the relay whose `/v1` is `baseUrl` (that relay allows this origin). */
  createRelayEngine(baseUrl: string, token?: string): Engine
  /** This node's own engine as the app builds it (`engine=` and `model=` of the URL). */
  createLocalEngine(choice: EngineChoice, modelUrl: string | null): Engine
  /** Downloads with the resumable downloader, checked against `pinned`; stops (as a reload would) after `stopAfterBytes`. */
  download(url: string, stopAfterBytes?: number, pinned?: PinnedFile[]): Promise<{ progress: DownloadProgress[]; sha256: string | null; error: string | null }>
  /**
   * Real WebLLM (MLCEngine on this page) loading `entry` through our app config, as the WebGPU
   * engine does: null if it loaded, else the error as the engine reports it (a failed check also
   * forgets the cached file, as the engine does) with the URLs left in WebLLM's caches.
   */
  webllmLoad(entry: Pick<WebGpuEntry, 'needs' | 'webllm'>): Promise<{ error: string | null; cached: string[] }>
  deleteDownloads(): Promise<void>
  /** For the bench: ms to hash `megabytes` of memory in 64 KB pieces (the downloader's SHA-256) and at once (WebCrypto's). */
  hashTimes(megabytes: number): Promise<{ incrementalMs: number; webCryptoMs: number }>
  /**
   * A worker watched as WebLLM's is asks for a real GPU device; then, as the app's test hook does,
   * its devices are destroyed, after WebLLM's `unload` message first when `afterUnload`. Says what
   * the page heard within `waitMs` (null: nothing).
   */
  loseDeviceInWorker(afterUnload: boolean, waitMs: number): Promise<{ device: boolean; loss: DeviceLoss | null }>
}

declare global {
  var harness: Harness
  var engine: Engine | undefined
}

globalThis.harness = {
  createWasmEngine: (modelUrl, { wllama = 'app', ...options } = {}) => {
    globalThis.engine = wllama === 'next' ? createWasmEngine(modelUrl, options, nextBuild) : createWasmEngine(modelUrl, options)
    return globalThis.engine
  },
  createRelayEngine: (baseUrl, token = '') => {
    globalThis.engine = new RelayEngine({ baseUrl, token: () => token })
    return globalThis.engine
  },
  createLocalEngine: (choice, modelUrl) => {
    globalThis.engine = new LocalEngine(choice, modelUrl)
    return globalThis.engine
  },
  download: async (url, stopAfterBytes = Number.POSITIVE_INFINITY, pinned = []) => {
    const progress: DownloadProgress[] = []
    const controller = new AbortController()
    try {
      const files = await downloadModel(
        url,
        (event) => {
          progress.push(event)
          if (event.loadedBytes >= stopAfterBytes) controller.abort()
        },
        controller.signal,
        pinned,
      )
      const bytes = new Uint8Array(await new Blob(files).arrayBuffer())
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
      return { progress, sha256: Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join(''), error: null }
    } catch (error) {
      return { progress, sha256: null, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
    }
  },
  deleteDownloads: deleteDownloadedModels,
  hashTimes: async (megabytes) => {
    const data = new Uint8Array(megabytes * 1024 * 1024).map((_, index) => (index * 2654435761) >>> 24)
    const piece = 64 * 1024
    let startMs = performance.now()
    const hasher = new Sha256()
    for (let offset = 0; offset < data.length; offset += piece) hasher.update(data.subarray(offset, offset + piece))
    hasher.hex()
    const incrementalMs = performance.now() - startMs
    startMs = performance.now()
    await crypto.subtle.digest('SHA-256', data)
    return { incrementalMs, webCryptoMs: performance.now() - startMs }
  },
  webllmLoad: async (entry) => {
    const { MLCEngine } = await import('@mlc-ai/web-llm')
    const engine = new MLCEngine({ appConfig: webLlmAppConfig([], [entry]) })
    let error: string | null = null
    try {
      await engine.reload(entry.needs.modelId)
    } catch (failure) {
      const failedUrl = integrityFailedUrl(failure)
      if (failedUrl !== null) await forgetCached(failedUrl)
      const reported = toModelLoadError(failure)
      error = `${reported.name}: ${reported.message}`
    }
    const cached: string[] = []
    for (const name of await caches.keys()) for (const request of await (await caches.open(name)).keys()) cached.push(request.url)
    return { error, cached }
  },
  loseDeviceInWorker: async (afterUnload, waitMs) => {
    const worker = new Worker(new URL('./device-watch.worker.ts', import.meta.url), { type: 'module', name: 'edgeswarm-device-watch' })
    try {
      let heard: (loss: DeviceLoss) => void = () => undefined
      const lost = new Promise<DeviceLoss>((resolve) => (heard = resolve))
      watchDeviceLoss(worker, (loss) => heard(loss))
      const device = await new Promise<boolean>((resolve) => {
        worker.onmessage = (event: MessageEvent<{ ok: boolean }>) => resolve(event.data.ok)
        worker.postMessage({ kind: 'request-device' })
      })
      if (afterUnload) worker.postMessage({ kind: 'unload' })
      loseDevices(worker)
      const loss = await Promise.race([lost, new Promise<null>((resolve) => setTimeout(() => resolve(null), waitMs))])
      return { device, loss }
    } finally {
      worker.terminate()
    }
  },
}
document.documentElement.dataset.ready = 'true'

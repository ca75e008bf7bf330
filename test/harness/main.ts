// A bare page that builds engines exactly as the app does, for test/contracts/engine.ts.
import type { Engine } from '../../src/inference/engine'
import { LocalEngine } from '../../src/inference/local-engine'
import { RelayEngine } from '../../src/inference/relay-engine'
import type { EngineChoice } from '../../src/inference/types'
import { createWasmEngine } from '../../src/inference/wasm/create'
import './micronets'
import { deleteDownloadedModels, downloadModel, type DownloadProgress, type PinnedFile } from '../../src/inference/wasm/model-download'
import type { WebGpuEntry } from '../../src/inference/model-catalog'
import { webLlmAppConfig } from '../../src/inference/webgpu/app-config'
import { forgetCached, integrityFailedUrl, toModelLoadError } from '../../src/inference/webgpu/load-error'
import { Sha256 } from '../../src/shared/sha256'

export interface Harness {
  createWasmEngine(modelUrl: string, options?: { threads?: number; contextSize?: number }): Engine
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
}

declare global {
  var harness: Harness
  var engine: Engine | undefined
}

globalThis.harness = {
  createWasmEngine: (modelUrl, options = {}) => {
    globalThis.engine = createWasmEngine(modelUrl, options)
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
}
document.documentElement.dataset.ready = 'true'

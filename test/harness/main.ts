// A bare page that builds engines exactly as the app does, for test/contracts/engine.ts.
import type { Engine } from '../../src/inference/engine'
import { LocalEngine } from '../../src/inference/local-engine'
import { RelayEngine } from '../../src/inference/relay-engine'
import type { EngineChoice } from '../../src/inference/types'
import { createWasmEngine, type WasmEngineOptions, type WllamaBuild } from '../../src/inference/wasm/create'
import nextWasmUrl from 'wllama-next/esm/wasm/wllama.wasm?url'
import './micronets'
import { loseDevices, watchDeviceLoss, type DeviceLoss } from '../../src/inference/webgpu/device-watch'
import { deleteDownloadedModels, downloadModel, type DownloadProgress } from '../../src/inference/wasm/model-download'

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
  /** Downloads with the resumable downloader; stops (as a reload would) after `stopAfterBytes`. */
  download(url: string, stopAfterBytes?: number): Promise<{ progress: DownloadProgress[]; sha256: string | null; error: string | null }>
  deleteDownloads(): Promise<void>
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
  download: async (url, stopAfterBytes = Number.POSITIVE_INFINITY) => {
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
      )
      const bytes = new Uint8Array(await new Blob(files).arrayBuffer())
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
      return { progress, sha256: Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join(''), error: null }
    } catch (error) {
      return { progress, sha256: null, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
    }
  },
  deleteDownloads: deleteDownloadedModels,
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

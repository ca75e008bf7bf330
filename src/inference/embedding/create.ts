import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import { workerClient } from '../../shared/rpc'
import { pinsFor } from '../model-catalog'
import type { PinnedFile } from '../wasm/model-download'
import { defaultThreads } from '../wasm/wllama-engine'
import { EmbedderClient, type EmbedderMethods } from './rpc'

/** What an embedding model's download is checked against: the catalog's pins for its URL, else a link's `embedSha256` (64 hex digits). */
export function embedPins(modelUrl: string, sha256: string | null): PinnedFile[] | undefined {
  const listed = pinsFor(new URL(modelUrl, location.href).href)
  if (listed || sha256 === null || !/^[0-9a-f]{64}$/i.test(sha256)) return listed
  return [{ sha256: sha256.toLowerCase() }]
}

/** The embedding model (wllama) in its own worker; unload ends the worker. The download is checked against `pinned` (default: the catalog's pins for that URL). */
export function createEmbedder(modelUrl: string, pinned: PinnedFile[] | undefined = pinsFor(new URL(modelUrl, location.href).href)): EmbedderClient {
  const worker = new Worker(new URL('../../../workers/embedding.worker.ts', import.meta.url), { type: 'module', name: 'edgeswarm-embedding' })
  const rpc = workerClient<EmbedderMethods>(worker, 'embedding')
  // Half the threads the chat engine would take: embedding runs beside it, in the background.
  const threads = Math.max(1, Math.floor(defaultThreads() / 2))
  rpc.call('configure', { modelUrl: new URL(modelUrl, location.href).href, wasmUrl: new URL(wasmUrl, location.href).href, threads, ...(pinned ? { pinned } : {}) }).catch(() => undefined)
  return new EmbedderClient(rpc, () => worker.terminate())
}

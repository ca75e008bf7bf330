import * as v from 'valibot'
import { EngineUnavailableError, InferenceError } from '../../shared/errors'
import { serveRpc, type MessageEndpoint, type RpcClient, type RpcMethod } from '../../shared/rpc'
import type { LoadProgress } from '../types'
import { PinnedFilesSchema } from '../wasm/model-download'
import type { Embedder, EmbedderInfo } from './embedder'
import type { WllamaEmbedderOptions } from './wllama-embedder'

/** The Embedder as RPC methods, after one `configure` that says which model to build. */
export interface EmbedderMethods {
  configure: RpcMethod<WllamaEmbedderOptions, null>
  load: RpcMethod<null, EmbedderInfo, LoadProgress>
  embed: RpcMethod<string[], Float32Array[]>
  unload: RpcMethod<null, null>
}

/** Texts per call and characters per text: an entry is at most 8,000 characters. */
export const maxEmbedTexts = 256
const maxEmbedChars = 16_000

const schemas = {
  configure: v.object({
    modelUrl: v.pipe(v.string(), v.maxLength(4096)),
    wasmUrl: v.pipe(v.string(), v.maxLength(4096)),
    threads: v.exactOptional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))),
    pinned: v.exactOptional(PinnedFilesSchema),
  }),
  load: v.null(),
  embed: v.pipe(v.array(v.pipe(v.string(), v.maxLength(maxEmbedChars))), v.maxLength(maxEmbedTexts)),
  unload: v.null(),
}

/** The worker's side: `configure` builds the embedder, then its methods serve it, one call at a time. */
export function serveEmbedder(endpoint: MessageEndpoint, create: (options: WllamaEmbedderOptions) => Embedder): () => void {
  let embedder: Embedder | null = null
  const built = (): Embedder => {
    if (!embedder) throw new EngineUnavailableError('the embedding worker is not configured')
    return embedder
  }
  return serveRpc<EmbedderMethods>(
    endpoint,
    {
      configure: (options) => {
        embedder ??= create(options)
        return null
      },
      load: (_payload, { emit, signal }) => built().load(emit, signal),
      embed: (texts, { signal }) => built().embed(texts, signal),
      unload: async () => {
        await embedder?.unload()
        return null
      },
    },
    { schemas, sequential: true },
  )
}

/** The page's side: an Embedder whose model runs across the channel; `unload` ends the worker too. */
export class EmbedderClient implements Embedder {
  constructor(
    private readonly rpc: RpcClient<EmbedderMethods>,
    private readonly onUnload: () => void,
  ) {}

  load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<EmbedderInfo> {
    return this.rpc.call('load', null, { onEvent: onProgress, ...(signal ? { signal } : {}) })
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const vectors: Float32Array[] = []
    for (let start = 0; start < texts.length; start += maxEmbedTexts) {
      const reply = await this.rpc.call('embed', texts.slice(start, start + maxEmbedTexts), signal ? { signal } : {})
      if (!Array.isArray(reply) || !reply.every((vector) => vector instanceof Float32Array)) throw new InferenceError('the embedding worker answered something other than vectors')
      vectors.push(...reply)
    }
    return vectors
  }

  async unload(): Promise<void> {
    try {
      if (!this.rpc.closed) await this.rpc.call('unload', null)
    } finally {
      this.rpc.close()
      this.onUnload()
    }
  }
}

import { Wllama, type WllamaLogger } from '@wllama/wllama/esm/index.js'
import { AbortError, InferenceError, ModelLoadError, throwIfAborted } from '../../shared/errors'
import type { LoadProgress } from '../types'
import { downloadModel, type PinnedFile } from '../wasm/model-download'
import { modelIdOf } from '../wasm/model-id'
import { normalize, type Embedder, type EmbedderInfo } from './embedder'

export interface WllamaEmbedderOptions {
  modelUrl: string
  wasmUrl: string
  threads?: number
  /** What the download is checked against (the catalog's pin for the default model). */
  pinned?: PinnedFile[]
}

/** Texts between checks of the abort signal. */
const maxBatchTexts = 16
/** Tokens kept of a text: the model's window less `<s>` and `</s>`. */
const tokenMargin = 2
/** Characters per token that most texts of Latin scripts stay under. */
const roomyCharsPerToken = 3

/**
 * A GGUF sentence encoder on llama.cpp in WASM (wllama), CPU only, the model kept in OPFS by the
 * resumable downloader. A text longer than the model's window is cut to what fits: its start.
 */
export class WllamaEmbedder implements Embedder {
  #wllama: Wllama | null = null
  #info: EmbedderInfo | null = null
  #windowTokens = 0
  readonly #errors: string[] = []

  constructor(private readonly options: WllamaEmbedderOptions) {}

  #logger(): WllamaLogger {
    const keep = (...parts: unknown[]): void => {
      this.#errors.push(parts.map(String).join(' '))
      if (this.#errors.length > 5) this.#errors.shift()
    }
    return { debug: () => undefined, log: () => undefined, warn: keep, error: keep }
  }

  async load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<EmbedderInfo> {
    throwIfAborted(signal)
    if (this.#info) return this.#info
    const url = new URL(this.options.modelUrl, location.href).href
    if (!/^https?:\/\/.+\.gguf(\?.*)?$/i.test(url)) throw new ModelLoadError(`embedding model URL must be an http(s) URL of a .gguf file: ${url.slice(0, 200)}`)
    const wllama = new Wllama({ default: this.options.wasmUrl }, { logger: this.#logger(), suppressNativeLog: false })
    wllama.setCompat(null)
    const onAbort = (): void => void wllama.exit().catch(() => undefined)
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const files = await downloadModel(
        url,
        ({ loadedBytes, totalBytes }) => onProgress({ phase: 'download', loadedBytes, totalBytes, text: 'downloading the embedding model' }),
        signal,
        this.options.pinned,
      )
      onProgress({ phase: 'load', loadedBytes: 0, totalBytes: 0, text: 'loading the embedding model' })
      // A non-causal encoder sees a whole text in one micro-batch: the batch is the window.
      await wllama.loadModel(files, { embeddings: true, pooling_type: 'cls', n_ctx: 512, n_batch: 512, n_ubatch: 512, n_threads: this.options.threads ?? 1, n_gpu_layers: 0, warmup: false })
      throwIfAborted(signal)
      const loaded = wllama.getLoadedContextInfo()
      if (!(loaded.n_embd > 0 && loaded.n_vocab > 0)) throw new Error('the file is not a usable embedding model')
      this.#windowTokens = Math.min(loaded.n_ctx, loaded.n_ctx_train > 0 ? loaded.n_ctx_train : loaded.n_ctx) - tokenMargin
      this.#wllama = wllama
      this.#info = { modelId: modelIdOf(url), dimensions: loaded.n_embd }
      return this.#info
    } catch (error) {
      await wllama.exit().catch(() => undefined)
      if (signal?.aborted) throw new AbortError('embedding model load aborted')
      if (error instanceof ModelLoadError) throw error
      throw new ModelLoadError(`could not load the embedding model: ${error instanceof Error ? error.message : String(error)}${this.#errors.length ? ` (${this.#errors.join('; ')})` : ''}`)
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const wllama = this.#wllama
    if (!wllama) throw new InferenceError('the embedding model is not loaded')
    const vectors: Float32Array[] = []
    for (let start = 0; start < texts.length; start += maxBatchTexts) {
      throwIfAborted(signal)
      const batch = texts.slice(start, start + maxBatchTexts)
      // wllama 3.8 has no tokenizer call: a text is cut to a few characters per token of the
      // window first, and, where that is still too long, to one character per token, which
      // always fits (the unigram tokenizer makes at most one token of a character).
      const vectorsOf = await this.#embedCut(wllama, batch, this.#windowTokens * roomyCharsPerToken).catch(() => this.#embedCut(wllama, batch, this.#windowTokens))
      vectors.push(...vectorsOf)
    }
    if (vectors.length !== texts.length) throw new InferenceError(`the embedding model returned ${vectors.length} vectors for ${texts.length} texts`)
    return vectors
  }

  /** One call per text: wllama 3.8's server answers an array input with the first text's vector only. */
  async #embedCut(wllama: Wllama, texts: readonly string[], maxChars: number): Promise<Float32Array[]> {
    const vectors: Float32Array[] = []
    for (const text of texts) {
      try {
        const response = await wllama.createEmbedding({ input: text.length > 0 ? text.slice(0, maxChars) : ' ' })
        const embedding = response.data[0]?.embedding
        if (!Array.isArray(embedding)) throw new Error('no embedding came back')
        vectors.push(normalize(Float32Array.from(embedding)))
      } catch (error) {
        throw new InferenceError(`embedding failed: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
    return vectors
  }

  async unload(): Promise<void> {
    const wllama = this.#wllama
    this.#wllama = null
    this.#info = null
    await wllama?.exit()
  }
}

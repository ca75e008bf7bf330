// The generated multilingual encoder (bert + XLM-R unigram tokenizer) run by llama.cpp itself,
// through node-llama-cpp, as an Embedder: the unit tests' real model, where the browser runs the
// same file through wllama.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ensureFixture } from '../../../scripts/gguf/fixture-file'
import { tinyEmbedding } from '../../../scripts/gguf/specs'
import { normalize, type Embedder, type EmbedderInfo } from '../../../src/inference/embedding/embedder'
import type { EmbeddingStore, StoredVector } from '../../../src/memory/embedding-db'
import type { IndexedVector } from '../../../src/memory/vector-index'

const fixturesDirectory = fileURLToPath(new URL('../../fixtures/', import.meta.url))

export interface LlamaEmbedder extends Embedder {
  info: EmbedderInfo
  /** Texts embedded so far. */
  calls: number
  dispose(): Promise<void>
}

export async function openLlamaEmbedder(): Promise<LlamaEmbedder> {
  mkdirSync(fixturesDirectory, { recursive: true })
  const { path } = ensureFixture(fixturesDirectory, tinyEmbedding)
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
  const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error }).catch((error: unknown) => {
    throw new Error(`node-llama-cpp cannot load its prebuilt llama.cpp binary on this machine, so the case cannot run: ${String(error)}`)
  })
  const model = await llama.loadModel({ modelPath: path })
  const context = await model.createEmbeddingContext({ threads: 1 })
  const info = { modelId: 'tiny-embedding', dimensions: model.embeddingVectorSize }
  const embedder: LlamaEmbedder = {
    info,
    calls: 0,
    load: () => Promise.resolve(info),
    async embed(texts) {
      const vectors: Float32Array[] = []
      for (const text of texts) {
        embedder.calls++
        vectors.push(normalize(Float32Array.from((await context.getEmbeddingFor(text)).vector)))
      }
      return vectors
    },
    unload: () => Promise.resolve(),
    dispose: () => llama.dispose(),
  }
  return embedder
}

/** The embedding store's contract in memory (IndexedDB's own is exercised in the browser, e2e). */
export function memoryEmbeddingStore(): EmbeddingStore & { rows: Map<string, StoredVector> } {
  const rows = new Map<string, StoredVector>()
  const key = (room: string, id: string): string => `${room}\u0000${id}`
  return {
    rows,
    load: (room, model, dimensions) => {
      const kept = new Map<string, IndexedVector>()
      for (const row of rows.values()) if (row.room === room && row.model === model && row.vector.length === dimensions) kept.set(row.id, { version: row.version, vector: row.vector })
      return Promise.resolve(kept)
    },
    put: (vectors) => {
      for (const row of vectors) rows.set(key(row.room, row.id), row)
      return Promise.resolve()
    },
    remove: (room, ids) => {
      for (const id of ids) rows.delete(key(room, id))
      return Promise.resolve()
    },
  }
}

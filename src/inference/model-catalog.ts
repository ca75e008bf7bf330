import type { PinnedFile } from './wasm/model-download'
import { modelIdOf } from './wasm/model-id'
import { knownModels, type ModelNeeds } from './webgpu/models'

/**
 * Every model this app offers to download, with what it costs: the download and the memory it
 * needs, and what it must be. One entry is the one place for its URL, size and pins: each URL
 * names a revision (a commit), never a branch, and each file its published SHA-256 where it is
 * known (a GGUF: the downloader checks it; WebLLM's files: its `integrity`, webgpu/app-config.ts).
 * Pure data: the device check is in model-fit.ts.
 */
export type CatalogEntry = WebGpuEntry | WasmEntry

interface EntryBase {
  /** The model id peers see in presence and tasks ask for in `requirements.model`. */
  id: string
  /** Short name shown to users, e.g. "Qwen3-1.7B". */
  label: string
  /** The quantisation, e.g. "q4f16" or "Q4_K_M". */
  quant: string
  downloadBytes: number
  /** Memory the loaded model takes at a 4K context (GPU memory for WebGPU, the wasm heap for WASM). */
  memoryMb: number
}

export interface WebGpuEntry extends EntryBase {
  kind: 'webgpu'
  needs: ModelNeeds
  webllm: WebLlmPins
}

/**
 * Where WebLLM fetches a build from, and the SRI hashes (`sha256-<base64>`) it checks (its
 * `ModelIntegrity`: the config, the tokenizer files it reads, the model library). WebLLM checks
 * no weight shard: their integrity rests on the revision in `model`.
 */
export interface WebLlmPins {
  /** The weights' repository at a revision, ending in `/`. */
  model: string
  /** The compiled model library (wasm) WebLLM runs. */
  modelLib: string
  integrity: { config?: string; model_lib?: string; tokenizer?: Record<string, string> }
}

export interface WasmEntry extends EntryBase {
  kind: 'wasm'
  url: string
  /** The file's published SHA-256 (Hugging Face's LFS oid at the revision in `url`); absent for a link that names none. */
  sha256?: string
  /** The model's KV cache per token at f16 (layers × KV heads × (key + value dims) × 2 bytes). */
  kvBytesPerToken: number
}

const mb = 1_000_000
const mib = 1024 * 1024

/*
 * WebGPU download sizes: WebLLM's records carry no size, so these are the weight shards of the
 * MLC builds by their format: q4f16_1 stores 4-bit weights with an f16 scale per 32 (4.5 bits a
 * weight), q4f32_1 an f32 scale (5 bits), over the parameter counts of Qwen's model cards
 * (0.6B: 0.60e9, 1.7B: 1.72e9, 4B: 4.02e9, embeddings tied), plus about 6 MB for the model
 * library and tokenizer. Issue 15 replaces them with the sums of each build's tensor-cache.json.
 */
const parameters = { '0.6B': 0.6e9, '1.7B': 1.72e9, '4B': 4.02e9 } as const
const webGpuBytes = (size: keyof typeof parameters, bitsPerWeight: number): number => Math.round((parameters[size] * bitsPerWeight) / 8 + 6 * mb)

/*
 * WebLLM's builds, pinned. Revisions of mlc-ai/Qwen3-*-MLC and the SRI of their
 * mlc-chat-config.json and tokenizer.json at those revisions, as published projects pin them
 * (looked up, not downloaded: this machine reaches no Hugging Face). Not found, so left unpinned
 * and listed in the README: the q4f32 builds' revisions, the 0.6B's config and tokenizer, and
 * every model library: WebLLM 0.2.86 runs the `v0_2_86/base` builds of binary-mlc-llm-libs, and
 * no commit of that repository with them, nor their hashes, could be found. A library is the
 * code WebLLM runs; its pin is the first to add when they are known.
 */
const mlcRevisions: Readonly<Record<string, string>> = {
  'Qwen3-0.6B-q4f16_1-MLC': '8c14ce481d4c692769976ad52afea453a102df19',
  'Qwen3-1.7B-q4f16_1-MLC': '80b3abcec6c3b3f5355dc0cc99cc4fb578f192bc',
  'Qwen3-4B-q4f16_1-MLC': 'a5c9fab855e3ccbdfed2e7e69683d75f30332161',
}
/** Qwen3's tokenizer.json, the same file in every Qwen3 MLC build. */
const qwen3TokenizerSri = 'sha256-rrEzB6cazY/oGGHZStVKtonfdzMYgJ7tPL55S0SS2uQ='
const mlcIntegrity: Readonly<Record<string, WebLlmPins['integrity']>> = {
  'Qwen3-1.7B-q4f16_1-MLC': { config: 'sha256-9ecmtQNj/6roPwY61A3bZzlOfaCQ0lHPVJpp1fiZ1Yo=', tokenizer: { 'tokenizer.json': qwen3TokenizerSri } },
  'Qwen3-4B-q4f16_1-MLC': { config: 'sha256-lyasfbzZBHX4BFYEvghi7xtIN+QyxQBNoguKbjSDMNo=', tokenizer: { 'tokenizer.json': qwen3TokenizerSri } },
}
/** WebLLM 0.2.86's own library location (its `modelLibURLPrefix` + `modelVersion`): on a branch until a commit is known. */
const mlcLibraries = 'https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/v0_2_86/base'

function webLlmPins(modelId: string): WebLlmPins {
  const revision = mlcRevisions[modelId] ?? 'main'
  return {
    model: `https://huggingface.co/mlc-ai/${modelId}/resolve/${revision}/`,
    modelLib: `${mlcLibraries}/${modelId.replace(/-MLC$/, '')}_cs1k-webgpu.wasm`,
    integrity: mlcIntegrity[modelId] ?? {},
  }
}

function webGpuEntry(needs: ModelNeeds, size: keyof typeof parameters): WebGpuEntry {
  const f16 = needs.modelId.includes('q4f16')
  const downloadBytes = webGpuBytes(size, f16 ? 4.5 : 5)
  return { kind: 'webgpu', id: needs.modelId, label: needs.label, quant: f16 ? 'q4f16' : 'q4f32', downloadBytes, memoryMb: Math.ceil(needs.vramRequiredMb), needs, webllm: webLlmPins(needs.modelId) }
}

const sizeOfLabel = (label: string): keyof typeof parameters => (label.includes('0.6B') ? '0.6B' : label.includes('4B') ? '4B' : '1.7B')

export const webGpuEntries: readonly WebGpuEntry[] = knownModels.map((needs) => webGpuEntry(needs, sizeOfLabel(needs.label)))

/*
 * GGUF files for the WASM engine (wllama, llama.cpp), from unsloth/Qwen3-0.6B-GGUF and
 * unsloth/Qwen3-1.7B-GGUF at a revision each, with each file's exact size and SHA-256 (the LFS
 * size and oid at that revision, as projects that pin these files publish them). Left out:
 * Qwen3-1.7B Q8_0 (2.17 GB) and Qwen3-4B Q4_K_M (2.50 GB, bartowski/Qwen_Qwen3-4B-GGUF's
 * table): wllama reads at most 2 GB per file and neither repository publishes them split;
 * and 4B's weights with its KV cache and llama.cpp's buffers would nearly fill wasm32's 4 GiB.
 * KV per token from the models' config.json: 28 layers, 8 KV heads, head_dim 128.
 */
const qwen3SmallKvBytesPerToken = 28 * 8 * 256 * 2
/** llama.cpp's compute buffers and the JS glue in the wasm heap (context-size.ts keeps the same reserve). */
export const wasmReserveMb = 768
const wasmContextTokens = 4096

/** A file to download by URL with what is published of it: its exact size and, where known, its SHA-256. */
export interface DownloadPins {
  url: string
  bytes: number
  sha256?: string
}

/** A file of a Hugging Face repository at a revision, with what was published of it. */
interface HfFile {
  repo: string
  revision: string
  file: string
  bytes: number
  sha256: string
}

const hfUrl = ({ repo, revision, file }: Pick<HfFile, 'repo' | 'revision' | 'file'>): string => `https://huggingface.co/${repo}/resolve/${revision}/${file}`

function wasmEntry(label: string, quant: string, pinned: HfFile): WasmEntry {
  const url = hfUrl(pinned)
  const downloadBytes = pinned.bytes
  const memoryMb = Math.ceil((downloadBytes + qwen3SmallKvBytesPerToken * wasmContextTokens) / mib) + wasmReserveMb
  return { kind: 'wasm', id: modelIdOf(url), label, quant, url, sha256: pinned.sha256, downloadBytes, memoryMb, kvBytesPerToken: qwen3SmallKvBytesPerToken }
}

const qwen3Small = { repo: 'unsloth/Qwen3-0.6B-GGUF', revision: '50968a4468ef4233ed78cd7c3de230dd1d61a56b' }
const qwen3Medium = { repo: 'unsloth/Qwen3-1.7B-GGUF', revision: 'd7f544eead698dbd1f15126ef60b45a1e1933222' }

export const wasmEntries: readonly WasmEntry[] = [
  wasmEntry('Qwen3-0.6B', 'Q4_K_M', { ...qwen3Small, file: 'Qwen3-0.6B-Q4_K_M.gguf', bytes: 396_705_472, sha256: 'ac2d97712095a558e31573f62f466a3f9d93990898b0ec79d7c974c1780d524a' }),
  wasmEntry('Qwen3-0.6B', 'Q8_0', { ...qwen3Small, file: 'Qwen3-0.6B-Q8_0.gguf', bytes: 639_447_744, sha256: 'e150ed544dfe6016930c026a93913a5e3184181ebfe6ab2223ae01dd0491784c' }),
  wasmEntry('Qwen3-1.7B', 'Q4_K_M', { ...qwen3Medium, file: 'Qwen3-1.7B-Q4_K_M.gguf', bytes: 1_107_409_472, sha256: 'b139949c5bd74937ad8ed8c8cf3d9ffb1e99c866c823204dc42c0d91fa181897' }),
]

/**
 * The sentence-embedding model memory search downloads (why this one: embedding/embedder.ts):
 * bartowski/granite-embedding-107m-multilingual-GGUF, Q8_0, 121,020,096 bytes. Its revision and
 * SHA-256 could not be found, so it stays on `main`, unchecked, until they are (see README).
 */
export const embeddingEntry: DownloadPins = {
  url: 'https://huggingface.co/bartowski/granite-embedding-107m-multilingual-GGUF/resolve/main/granite-embedding-107m-multilingual-Q8_0.gguf',
  bytes: 121_020_096,
}

export const catalog: readonly CatalogEntry[] = [...webGpuEntries, ...wasmEntries]

export function catalogEntry(id: string): CatalogEntry | undefined {
  return catalog.find((entry) => entry.id === id)
}

/** What the download of a GGUF entry is checked against; undefined for one with no published hash (a link without `sha256=`). */
export function pinsOf(entry: Pick<WasmEntry, 'sha256' | 'downloadBytes'>): PinnedFile[] | undefined {
  if (entry.sha256 === undefined) return undefined
  return [{ sha256: entry.sha256, ...(entry.downloadBytes > 0 ? { bytes: entry.downloadBytes } : {}) }]
}

/** The catalog's pins for the GGUF at `url` (a chat model's or the embedding model's); undefined for a file it does not list. */
export function pinsFor(url: string): PinnedFile[] | undefined {
  const listed: DownloadPins[] = [...wasmEntries.map(({ url, downloadBytes, sha256 }) => ({ url, bytes: downloadBytes, ...(sha256 === undefined ? {} : { sha256 }) })), embeddingEntry]
  const known = listed.find((entry) => entry.url === url)
  return known ? pinsOf({ downloadBytes: known.bytes, ...(known.sha256 === undefined ? {} : { sha256: known.sha256 }) }) : undefined
}

import { modelIdOf } from './wasm/model-id'
import { knownModels, type ModelNeeds } from './webgpu/models'

/**
 * Every model this app offers to download, with what it costs: the download and the memory it
 * needs. One entry is one place for its URL and size (issue 15 pins revisions and hashes here).
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
}

export interface WasmEntry extends EntryBase {
  kind: 'wasm'
  url: string
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

function webGpuEntry(needs: ModelNeeds, size: keyof typeof parameters): WebGpuEntry {
  const f16 = needs.modelId.includes('q4f16')
  return { kind: 'webgpu', id: needs.modelId, label: needs.label, quant: f16 ? 'q4f16' : 'q4f32', downloadBytes: webGpuBytes(size, f16 ? 4.5 : 5), memoryMb: Math.ceil(needs.vramRequiredMb), needs }
}

const sizeOfLabel = (label: string): keyof typeof parameters => (label.includes('0.6B') ? '0.6B' : label.includes('4B') ? '4B' : '1.7B')

export const webGpuEntries: readonly WebGpuEntry[] = knownModels.map((needs) => webGpuEntry(needs, sizeOfLabel(needs.label)))

/*
 * GGUF files for the WASM engine (wllama, llama.cpp). Sizes are the Hugging Face file listings
 * of unsloth/Qwen3-0.6B-GGUF and unsloth/Qwen3-1.7B-GGUF (in MB as HF shows them). Left out:
 * Qwen3-1.7B Q8_0 (2.17 GB) and Qwen3-4B Q4_K_M (2.50 GB, bartowski/Qwen_Qwen3-4B-GGUF's
 * table): wllama reads at most 2 GB per file and neither repository publishes them split;
 * and 4B's weights with its KV cache and llama.cpp's buffers would nearly fill wasm32's 4 GiB.
 * KV per token from the models' config.json: 28 layers, 8 KV heads, head_dim 128.
 */
const qwen3SmallKvBytesPerToken = 28 * 8 * 256 * 2
/** llama.cpp's compute buffers and the JS glue in the wasm heap (context-size.ts keeps the same reserve). */
export const wasmReserveMb = 768
const wasmContextTokens = 4096

function wasmEntry(label: string, quant: string, url: string, downloadBytes: number): WasmEntry {
  const memoryMb = Math.ceil((downloadBytes + qwen3SmallKvBytesPerToken * wasmContextTokens) / mib) + wasmReserveMb
  return { kind: 'wasm', id: modelIdOf(url), label, quant, url, downloadBytes, memoryMb, kvBytesPerToken: qwen3SmallKvBytesPerToken }
}

const hf = 'https://huggingface.co/unsloth'

export const wasmEntries: readonly WasmEntry[] = [
  wasmEntry('Qwen3-0.6B', 'Q4_K_M', `${hf}/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q4_K_M.gguf`, 397 * mb),
  wasmEntry('Qwen3-0.6B', 'Q8_0', `${hf}/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf`, 639 * mb),
  wasmEntry('Qwen3-1.7B', 'Q4_K_M', `${hf}/Qwen3-1.7B-GGUF/resolve/main/Qwen3-1.7B-Q4_K_M.gguf`, 1_110 * mb),
]

export const catalog: readonly CatalogEntry[] = [...webGpuEntries, ...wasmEntries]

export function catalogEntry(id: string): CatalogEntry | undefined {
  return catalog.find((entry) => entry.id === id)
}

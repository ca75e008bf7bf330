import { catalog, type CatalogEntry, type WasmEntry } from './model-catalog'
import type { EngineChoice } from './types'
import { modelIdOf } from './wasm/model-id'
import { findProblem } from './webgpu/model-choice'
import type { WebGpuProbe } from './webgpu/probe'

/** What the page measured of this device, for the model offer. */
export interface DeviceFacts {
  webgpu: WebGpuProbe
  /** `navigator.deviceMemory` in GB (rounded down, capped at 8); undefined where the browser hides it. */
  deviceMemoryGb?: number
  /** `navigator.hardwareConcurrency`. */
  cores: number
}

/** One model the user may pick, and whether this device can run it (and if not, why). */
export type Fit = { entry: CatalogEntry; runs: true } | { entry: CatalogEntry; runs: false; reason: string }

export interface ModelOffer {
  /** Every model offered, the one from the link (if any) first. */
  fits: readonly Fit[]
  /** What "Download" fetches unless the user picks another. */
  selected: CatalogEntry
  /** The catalog's best fit for this device; null when nothing fits. */
  recommendedId: string | null
  /** Why the selection is not what the engine choice asked for (engine=webgpu where WebGPU cannot run). */
  note?: string
}

export interface OfferInput {
  /** The URL's or the settings' `engine`. */
  choice: Exclude<EngineChoice, 'none'>
  /** A GGUF from the URL's or the settings' `model`, absolute; it is what loads. */
  modelUrl: string | null
  /** The link's `sha256=` for that GGUF. */
  modelSha256?: string | undefined
  /** The model the user picked on an earlier visit. */
  chosenId?: string | undefined
  device: DeviceFacts
}

const mib = 1024 * 1024
/** wasm32 addresses 4 GiB: the weights, the KV cache and llama.cpp's buffers must fit in it. */
const wasmHeapMb = 4096
/** wllama reads a file of at most 2 GB (it splits none itself). */
const wllamaFileLimitBytes = 2 * 1024 * mib
/** Of the system memory the browser reports, what a model may take (the OS and the browser need the rest). */
const usableDeviceMemoryFraction = 0.75
/** Below this many cores the WASM engine is recommended the smaller model: it answers in time. */
const coresForLargerWasmModel = 4

/** Why the WASM engine cannot run `entry` here; undefined when it can. */
function wasmProblem(entry: WasmEntry, deviceMemoryGb: number | undefined): string | undefined {
  if (entry.downloadBytes > wllamaFileLimitBytes) return `${entry.label} ${entry.quant} is one file over 2 GB, more than wllama reads`
  if (entry.memoryMb > wasmHeapMb) return `${entry.label} ${entry.quant} needs ${entry.memoryMb} MB, more than the 4 GB a wasm32 engine can address`
  if (deviceMemoryGb !== undefined && deviceMemoryGb > 0) {
    const usableMb = Math.floor(deviceMemoryGb * 1024 * usableDeviceMemoryFraction)
    if (usableMb < entry.memoryMb)
      return `This device has too little memory for ${entry.label} ${entry.quant} (needs ${entry.memoryMb} MB, has about ${usableMb} MB of ${deviceMemoryGb} GB free for it)`
  }
  return undefined
}

/** Whether this device can run `entry`, and why not. */
export function fitOf(entry: CatalogEntry, device: DeviceFacts): Fit {
  let reason: string | undefined
  if (entry.kind === 'webgpu') reason = device.webgpu.ok ? findProblem(device.webgpu.adapter, entry.needs, device.deviceMemoryGb) : `no WebGPU here: ${device.webgpu.reason}`
  else reason = wasmProblem(entry, device.deviceMemoryGb)
  return reason === undefined ? { entry, runs: true } : { entry, runs: false, reason }
}

/*
 * The recommendation: Qwen3-1.7B (the model the design is built around) on WebGPU, in f16 where
 * the adapter has shader-f16; the 0.6B where the 1.7B does not fit; on the CPU (WASM) the 1.7B
 * Q4_K_M with enough cores, else the 0.6B. The 4B and the Q8_0 files are there to pick, never
 * pushed: they cost twice the download for a device that may run them slowly.
 */
const preference: readonly string[] = [
  'Qwen3-1.7B-q4f16_1-MLC',
  'Qwen3-1.7B-q4f32_1-MLC',
  'Qwen3-0.6B-q4f16_1-MLC',
  'Qwen3-0.6B-q4f32_1-MLC',
  'Qwen3-1.7B-Q4_K_M',
  'Qwen3-0.6B-Q4_K_M',
  'Qwen3-0.6B-Q8_0',
]

function recommend(fits: readonly Fit[], device: DeviceFacts, kind?: CatalogEntry['kind']): CatalogEntry | null {
  const runs = new Map(fits.filter((fit) => fit.runs && (kind === undefined || fit.entry.kind === kind)).map((fit) => [fit.entry.id, fit.entry]))
  const order = device.cores < coresForLargerWasmModel ? preference.filter((id) => id !== 'Qwen3-1.7B-Q4_K_M') : preference
  for (const id of order) {
    const entry = runs.get(id)
    if (entry) return entry
  }
  return null
}

/**
 * The entry for a GGUF named by a link: its size is unknown until its server answers, which it
 * is not asked before the user agrees; checked against the link's `sha256` where it names one.
 */
export function linkEntry(url: string, sha256?: string): WasmEntry {
  const id = modelIdOf(url)
  return { kind: 'wasm', id, label: id, quant: 'from the link', url, ...(sha256 === undefined ? {} : { sha256 }), downloadBytes: 0, memoryMb: 0, kvBytesPerToken: 0 }
}

/** True for a link's GGUF on another origin than the app's: the user is asked, naming that origin, before anything is fetched. */
export function isForeignLink(entry: CatalogEntry, appOrigin: string): entry is WasmEntry {
  return entry.kind === 'wasm' && entry.quant === 'from the link' && new URL(entry.url).origin !== appOrigin
}

/** The smallest catalog entry, so the offer always has something to select. */
const smallestWasm = (): CatalogEntry => catalog.filter((entry) => entry.kind === 'wasm').reduce((a, b) => (a.downloadBytes <= b.downloadBytes ? a : b))

/** What to offer this device: every model with its fit, the recommendation, and what Download fetches. */
export function offerFor(input: OfferInput): ModelOffer {
  const { device, choice } = input
  // A link to a catalog file is that entry, with its pins (a link's sha256 cannot replace them).
  const listed = catalog.find((entry) => entry.kind === 'wasm' && entry.url === input.modelUrl)
  const link = listed ?? (input.modelUrl !== null ? linkEntry(input.modelUrl, input.modelSha256) : null)
  const fits = [...(link && !listed ? [{ entry: link, runs: true } as const] : []), ...catalog.map((entry) => fitOf(entry, device))]
  const recommended = recommend(fits, device)
  const offer = (selected: CatalogEntry, note?: string): ModelOffer => ({ fits, selected, recommendedId: recommended?.id ?? null, ...(note === undefined ? {} : { note }) })
  const chosen = fits.find((fit) => fit.entry.id === input.chosenId && (choice === 'auto' || fit.entry.kind === choice))?.entry
  if (choice === 'webgpu') {
    // A link's GGUF is for the WASM engine: with engine=webgpu it is the fallback where WebGPU cannot run.
    const webgpu = chosen ?? recommend(fits, device, 'webgpu')
    if (webgpu) return offer(webgpu)
    const why = fits.find((fit) => fit.entry.kind === 'webgpu' && !fit.runs)
    return offer(link ?? recommend(fits, device, 'wasm') ?? smallestWasm(), `WebGPU cannot run the model here: ${why && !why.runs ? why.reason : 'no build fits'}. Using the WASM engine.`)
  }
  const forKind = choice === 'wasm' ? recommend(fits, device, 'wasm') : recommended
  return offer(link ?? chosen ?? forKind ?? smallestWasm())
}

/** What a profile's agreement names: a GGUF by its URL (a link may name any file), a WebLLM model by its id. */
export function agreementKey(entry: CatalogEntry): string {
  return entry.kind === 'wasm' ? entry.url : entry.id
}

import { qwen3F16, qwen3F32, type ModelNeeds } from './models'

/** The parts of a WebGPU adapter the model choice looks at; `describeAdapter` builds it. */
export interface AdapterDescription {
  features: readonly string[]
  limits: {
    maxBufferSize: number
    maxStorageBufferBindingSize: number
    maxComputeWorkgroupStorageSize?: number
    maxStorageBuffersPerShaderStage?: number
  }
  vendor?: string
  architecture?: string
  description?: string
  isFallbackAdapter?: boolean
}

export type ModelChoice = { ok: true; modelId: string; vramRequiredMb: number; contextWindowSize: number; reason: string } | { ok: false; reason: string }

export interface ChoiceOptions {
  /** `navigator.deviceMemory` in GB (the browser rounds it down and caps it at 8); unknown when absent. */
  deviceMemoryGb?: number
  /** Check this model instead of picking a Qwen3-1.7B build. */
  model?: ModelNeeds
}

const mib = 1 << 20

/*
 * What WebLLM 0.2.86 asks of the adapter in `detectGPUDevice` (lib/index.js): maxBufferSize 1 GiB,
 * else 256 MiB, else it throws; maxStorageBufferBindingSize 1 GiB, else 128 MiB (enough only for
 * models marked low_resource_required), else it throws; maxComputeWorkgroupStorageSize 32 KiB and
 * maxStorageBuffersPerShaderStage 10, else it throws.
 */
export const webLlmLimits = {
  minMaxBufferSize: 256 * mib,
  storageBindingSize: 1024 * mib,
  lowResourceStorageBindingSize: 128 * mib,
  computeWorkgroupStorageSize: 32 * 1024,
  storageBuffersPerShaderStage: 10,
} as const

/*
 * deviceMemory is system RAM, which integrated GPUs share with the OS and the browser: the model
 * must fit in this part of it. A discrete GPU has its own memory; deviceMemory is capped at 8, so
 * a machine reporting 8 always passes.
 */
const usableDeviceMemoryFraction = 0.75

const softwareRenderer = /\b(swiftshader|llvmpipe|lavapipe|softpipe|software|warp)\b/i

const toMb = (bytes: number): number => Math.floor(bytes / mib)

/** Picks the Qwen3-1.7B build this adapter can run, or says in a sentence why none can run here. */
export function chooseModel(adapter: AdapterDescription, options: ChoiceOptions = {}): ModelChoice {
  const hasF16 = adapter.features.includes('shader-f16')
  const model = options.model ?? (hasF16 ? qwen3F16 : qwen3F32)
  const problem = findProblem(adapter, model, options.deviceMemoryGb)
  if (problem !== undefined) return { ok: false, reason: problem }
  const vramMb = Math.ceil(model.vramRequiredMb)
  const why = options.model ? 'the requested model fits this adapter' : hasF16 ? 'the adapter supports shader-f16' : `the adapter lacks shader-f16, so the f32 build (${vramMb} MB) is used`
  return {
    ok: true,
    modelId: model.modelId,
    vramRequiredMb: vramMb,
    contextWindowSize: model.contextWindowSize,
    reason: `${model.modelId}: ${why}`,
  }
}

/** Why `model` cannot run on this adapter and device, in a sentence; undefined when it can. */
export function findProblem(adapter: AdapterDescription, model: ModelNeeds, deviceMemoryGb: number | undefined): string | undefined {
  const name = model.label
  const renderer = [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ')
  if (adapter.isFallbackAdapter === true || softwareRenderer.test(renderer)) {
    return `WebGPU only offers a software adapter${renderer ? ` (${renderer})` : ''} here, far too slow for ${name}`
  }
  const missing = model.requiredFeatures.filter((feature) => !adapter.features.includes(feature))
  if (missing.length > 0) {
    return `WebGPU adapter lacks the feature ${missing.join(', ')} that ${model.modelId} needs`
  }
  const limits = adapter.limits
  const bufferNeeded = Math.max(webLlmLimits.minMaxBufferSize, model.bufferSizeRequiredBytes)
  if (limits.maxBufferSize < bufferNeeded) {
    return `WebGPU adapter has too little buffer size for ${name} (needs ${toMb(bufferNeeded)} MB, has ${toMb(limits.maxBufferSize)} MB)`
  }
  const bindingNeeded = model.lowResourceRequired ? webLlmLimits.lowResourceStorageBindingSize : webLlmLimits.storageBindingSize
  if (limits.maxStorageBufferBindingSize < bindingNeeded) {
    return `WebGPU adapter has too little storage buffer binding size for ${name} (needs ${toMb(bindingNeeded)} MB, has ${toMb(limits.maxStorageBufferBindingSize)} MB)`
  }
  const workgroup = limits.maxComputeWorkgroupStorageSize
  if (workgroup !== undefined && workgroup < webLlmLimits.computeWorkgroupStorageSize) {
    return `WebGPU adapter has too little workgroup memory for ${name} (needs ${webLlmLimits.computeWorkgroupStorageSize / 1024} KB, has ${Math.floor(workgroup / 1024)} KB)`
  }
  const storageBuffers = limits.maxStorageBuffersPerShaderStage
  if (storageBuffers !== undefined && storageBuffers < webLlmLimits.storageBuffersPerShaderStage) {
    return `WebGPU adapter allows too few storage buffers per shader for ${name} (needs ${webLlmLimits.storageBuffersPerShaderStage}, has ${storageBuffers})`
  }
  if (deviceMemoryGb !== undefined && deviceMemoryGb > 0) {
    const usableMb = Math.floor(deviceMemoryGb * 1024 * usableDeviceMemoryFraction)
    const neededMb = Math.ceil(model.vramRequiredMb)
    if (usableMb < neededMb) {
      return `This device has too little memory for ${name} (needs ${neededMb} MB, has about ${usableMb} MB of ${deviceMemoryGb} GB free for it)`
    }
  }
  return undefined
}

/** Reads the description the model choice needs from a real adapter. */
export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  // `info` arrived in Chrome 127 and `isFallbackAdapter` moved onto it later; older browsers lack them.
  const info = adapter.info as Partial<GPUAdapterInfo> | undefined
  const legacy = adapter as { isFallbackAdapter?: boolean }
  const { limits } = adapter
  const description: AdapterDescription = {
    features: [...adapter.features],
    limits: {
      maxBufferSize: limits.maxBufferSize,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
    isFallbackAdapter: info?.isFallbackAdapter ?? legacy.isFallbackAdapter ?? false,
  }
  if (info?.vendor) description.vendor = info.vendor
  if (info?.architecture) description.architecture = info.architecture
  if (info?.description) description.description = info.description
  return description
}

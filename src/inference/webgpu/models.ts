import type { ModelRecord } from '@mlc-ai/web-llm'

/** What a WebLLM model needs from the GPU and the machine. */
export interface ModelNeeds {
  modelId: string
  /** Short name shown to users. */
  label: string
  vramRequiredMb: number
  /** Runs with WebLLM's low-resource limits (128 MiB storage buffer bindings instead of 1 GiB). */
  lowResourceRequired: boolean
  /** A buffer size the model needs beyond WebLLM's own request; 0 when the record sets none. */
  bufferSizeRequiredBytes: number
  requiredFeatures: readonly string[]
  /** 0 when the record does not say (the model's own config then decides). */
  contextWindowSize: number
}

/*
 * Copied from @mlc-ai/web-llm 0.2.86, lib/index.js, `prebuiltAppConfig.model_list`, the records
 * "Qwen3-{0.6B,1.7B,4B}-q4{f16,f32}_1-MLC" (vram_required_MB, low_resource_required,
 * overrides.context_window_size; none sets buffer_size_required_bytes or required_features).
 * Copied so this module stays pure and does not pull WebLLM's bundle. Update them with the pin.
 *
 * One addition of ours: WebLLM's Qwen3 records omit `required_features`, yet the q4f16 builds'
 * shaders use f16 and fail late (after the download) without 'shader-f16'; we require it here.
 */
function qwen3(size: string, quant: 'q4f16' | 'q4f32', vramRequiredMb: number): ModelNeeds {
  return {
    modelId: `Qwen3-${size}-${quant}_1-MLC`,
    label: `Qwen3-${size}`,
    vramRequiredMb,
    lowResourceRequired: true,
    bufferSizeRequiredBytes: 0,
    requiredFeatures: quant === 'q4f16' ? ['shader-f16'] : [],
    contextWindowSize: 4096,
  }
}

export const qwen3F16: ModelNeeds = qwen3('1.7B', 'q4f16', 2036.66)
export const qwen3F32: ModelNeeds = qwen3('1.7B', 'q4f32', 2635.44)

export const knownModels: readonly ModelNeeds[] = [qwen3('0.6B', 'q4f16', 1403.34), qwen3('0.6B', 'q4f32', 1924.98), qwen3F16, qwen3F32, qwen3('4B', 'q4f16', 3431.59), qwen3('4B', 'q4f32', 4327.71)]

/** True for MLC quantisations that compute in f16 (q4f16_1, q0f16, …), which need 'shader-f16'. */
export function usesF16(modelId: string): boolean {
  return /-q\d+f16(_\d+)?-/i.test(`${modelId}-`)
}

/** Needs of any WebLLM model record (used for a `modelId` override outside `knownModels`). */
export function needsFromRecord(record: ModelRecord): ModelNeeds {
  const features = new Set(record.required_features ?? [])
  if (usesF16(record.model_id)) features.add('shader-f16')
  return {
    modelId: record.model_id,
    label: record.model_id.replace(/-MLC$/, ''),
    vramRequiredMb: record.vram_required_MB ?? 0,
    lowResourceRequired: record.low_resource_required ?? false,
    bufferSizeRequiredBytes: record.buffer_size_required_bytes ?? 0,
    requiredFeatures: [...features],
    contextWindowSize: record.overrides?.context_window_size ?? 0,
  }
}

import type { AppConfig, ModelRecord } from '@mlc-ai/web-llm'
import { webGpuEntries, type WebGpuEntry } from '../model-catalog'

/**
 * WebLLM's model records, from our catalog instead of its `prebuiltAppConfig` (which points at
 * `main` of every repository): weights at a pinned revision, the model library, and WebLLM's
 * `integrity` from the catalog's SRI hashes, so a config, tokenizer or library that is not the
 * published one refuses to load (WebLLM throws its IntegrityError before the GPU is touched).
 */
export function webLlmRecord(entry: Pick<WebGpuEntry, 'needs' | 'webllm'>): ModelRecord {
  const { needs, webllm } = entry
  return {
    model: webllm.model,
    model_id: needs.modelId,
    model_lib: webllm.modelLib,
    vram_required_MB: needs.vramRequiredMb,
    low_resource_required: needs.lowResourceRequired,
    ...(needs.bufferSizeRequiredBytes > 0 ? { buffer_size_required_bytes: needs.bufferSizeRequiredBytes } : {}),
    ...(needs.requiredFeatures.length > 0 ? { required_features: [...needs.requiredFeatures] } : {}),
    ...(needs.contextWindowSize > 0 ? { overrides: { context_window_size: needs.contextWindowSize } } : {}),
    integrity: { ...webllm.integrity, onFailure: 'error' },
  }
}

/** The app config every WebLLM load gets: the catalog's builds, plus `extra` (a `modelId` override outside the catalog, as WebLLM publishes it). */
export function webLlmAppConfig(extra: readonly ModelRecord[] = [], entries: readonly Pick<WebGpuEntry, 'needs' | 'webllm'>[] = webGpuEntries): AppConfig {
  return { model_list: [...entries.map(webLlmRecord), ...extra], cacheBackend: 'cache' }
}

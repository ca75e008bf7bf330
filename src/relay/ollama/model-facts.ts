// What the relay knows of a model for /api/tags and /api/show: for the embedded GGUF, its
// header (architecture, parameters, quantization, chat template, context) and file; for a
// model another server runs, only its name, with Ollama's fields left empty rather than guessed.
import { stat } from 'node:fs/promises'
import type { ModelInfo } from '../../shared/openai'
import type { Logger } from '../log'
import type { V1Config } from '../v1/config'
import { embeddedModelId } from '../v1/embedded'
import type { OllamaModelDetails } from './wire'

export interface ModelFacts {
  /** What the model does: the relay's embedding model only embeds; a model elsewhere is taken to chat. */
  kind: 'chat' | 'embedding'
  size: number
  modifiedAt: string
  details: OllamaModelDetails
  /** The chat template as the GGUF holds it; '' where unknown. */
  template: string
  /** Ollama's `model_info`: the GGUF's keys the relay read. */
  modelInfo: Record<string, string | number>
}

const unknownDetails = (format = ''): OllamaModelDetails => ({ parent_model: '', format, family: '', families: null, parameter_size: '', quantization_level: '' })

/** A count as Ollama writes a model's size: 494.03M, 8.2B. */
export function parameterSize(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`
  if (count >= 1e6) return `${(count / 1e6).toFixed(2)}M`
  if (count >= 1e3) return `${(count / 1e3).toFixed(2)}K`
  return String(count)
}

async function readGguf(modelPath: string, kind: ModelFacts['kind']): Promise<ModelFacts> {
  const [{ readGgufFileInfo, GgufFileType }, file] = await Promise.all([import('node-llama-cpp'), stat(modelPath)])
  const info = await readGgufFileInfo(modelPath, {
    readTensorInfo: true,
    logWarnings: false,
    ignoreKeys: ['tokenizer.ggml.tokens', 'tokenizer.ggml.merges', 'tokenizer.ggml.token_type', 'tokenizer.ggml.scores'],
  })
  const general = info.metadata.general
  const architecture: string = general.architecture
  const parameters = (info.fullTensorInfo ?? []).reduce((sum, tensor) => sum + tensor.dimensions.reduce<number>((product, size) => product * Number(size), 1), 0)
  const fileType = general.file_type
  const quantization = fileType === undefined ? '' : ((GgufFileType[fileType] as string | undefined) ?? '').replace(/^(MOSTLY|ALL)_/, '')
  const architectureKeys = (info.metadata as unknown as Record<string, Record<string, unknown> | undefined>)[architecture] ?? {}
  const modelInfo: Record<string, string | number> = { 'general.architecture': architecture, 'general.parameter_count': parameters }
  for (const key of ['context_length', 'embedding_length', 'block_count'] as const) {
    const value = architectureKeys[key]
    if (typeof value === 'number') modelInfo[`${architecture}.${key}`] = value
  }
  return {
    kind,
    size: file.size,
    modifiedAt: file.mtime.toISOString(),
    details: { parent_model: '', format: 'gguf', family: architecture, families: [architecture], parameter_size: general.size_label ?? parameterSize(parameters), quantization_level: quantization },
    template: info.metadata.tokenizer.chat_template ?? '',
    modelInfo,
  }
}

/** The facts of each model, the relay's own GGUFs' read once each (their header, not their weights). */
export function createModelFacts(config: V1Config, log: Logger) {
  const local = [
    // A model by name (RELAY_MODEL) has no file to read before its download: its facts stay unknown.
    ...(config.embedded?.modelPath === undefined ? [] : [{ path: config.embedded.modelPath, kind: 'chat' as const }]),
    ...(config.embedding === null ? [] : [{ path: config.embedding.modelPath, kind: 'embedding' as const }]),
  ].map((file) => ({ ...file, id: embeddedModelId(file.path), read: null as Promise<ModelFacts | null> | null }))
  return async (model: ModelInfo): Promise<ModelFacts> => {
    const fallback: ModelFacts = { kind: 'chat', size: 0, modifiedAt: new Date(model.created * 1000).toISOString(), details: unknownDetails(), template: '', modelInfo: {} }
    const file = local.find((candidate) => candidate.id === model.id)
    if (file === undefined) return fallback
    file.read ??= readGguf(file.path, file.kind).catch((error: unknown) => {
      log.warn('could not read a GGUF header for /api/tags', { model: model.id, error })
      return null
    })
    return (await file.read) ?? { ...fallback, kind: file.kind, details: unknownDetails('gguf') }
  }
}

export type ModelFactsOf = ReturnType<typeof createModelFacts>

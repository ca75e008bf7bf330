// The GGUF v3 container, as ggml's gguf.cpp reads it: little-endian; a header (magic, version,
// tensor count, metadata count); typed metadata key/values; tensor infos; padding to the
// alignment; then the tensor data, each tensor at an aligned offset from the data start.

export const ggufMagic = 0x46554747 // "GGUF" read as a little-endian u32
export const ggufVersion = 3
export const defaultAlignment = 32

/** Value type ids of gguf.h's `gguf_type`. */
export const valueTypeIds = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const

export type NumberKind = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'
export type BigKind = 'u64' | 'i64'
export type ItemKind = NumberKind | BigKind | 'bool' | 'string'

export type GgufValue =
  | { kind: NumberKind; value: number }
  | { kind: BigKind; value: bigint }
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  | { kind: 'array'; of: NumberKind; value: readonly number[] }
  | { kind: 'array'; of: BigKind; value: readonly bigint[] }
  | { kind: 'array'; of: 'bool'; value: readonly boolean[] }
  | { kind: 'array'; of: 'string'; value: readonly string[] }

/** ggml type ids (ggml.h `ggml_type`) of the tensor types this package names. */
export const tensorTypeIds = { f32: 0, f16: 1 } as const

/** A tensor to write: `shape` is in ggml order, ne[0] first (the contiguous dimension). */
export interface GgufTensor {
  name: string
  shape: readonly number[]
  data: Float32Array
}

export interface GgufFile {
  metadata: ReadonlyMap<string, GgufValue>
  tensors: readonly GgufTensor[]
}

export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment
}

export const u32 = (value: number): GgufValue => ({ kind: 'u32', value })
export const f32 = (value: number): GgufValue => ({ kind: 'f32', value })
export const bool = (value: boolean): GgufValue => ({ kind: 'bool', value })
export const str = (value: string): GgufValue => ({ kind: 'string', value })
export const strings = (value: readonly string[]): GgufValue => ({ kind: 'array', of: 'string', value })
export const i32s = (value: readonly number[]): GgufValue => ({ kind: 'array', of: 'i32', value })
export const f32s = (value: readonly number[]): GgufValue => ({ kind: 'array', of: 'f32', value })

/** What both fixture architectures share: a transformer's name, size and shape. */
export interface TransformerShape {
  name: string
  contextLength: number
  embeddingLength: number
  blockCount: number
  feedForwardLength: number
  headCount: number
}

/** The first metadata of an all-f32 transformer GGUF of `architecture`, in llama.cpp's key names. */
export function transformerMetadata(architecture: string, spec: TransformerShape): [string, GgufValue][] {
  return [
    ['general.architecture', str(architecture)],
    ['general.name', str(spec.name)],
    ['general.file_type', u32(0)], // LLAMA_FTYPE_ALL_F32
    [`${architecture}.context_length`, u32(spec.contextLength)],
    [`${architecture}.embedding_length`, u32(spec.embeddingLength)],
    [`${architecture}.block_count`, u32(spec.blockCount)],
    [`${architecture}.feed_forward_length`, u32(spec.feedForwardLength)],
    [`${architecture}.attention.head_count`, u32(spec.headCount)],
  ]
}

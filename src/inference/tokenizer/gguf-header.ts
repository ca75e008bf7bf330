/**
 * The metadata of a GGUF file, read from its header only: the tensors are never touched, so a
 * 1 GB model costs the few MB its vocabulary takes. Only what the engine needs is kept: the
 * tokenizer (tokens, their types, merges) and the hparams that size the KV cache.
 */
export interface GgufHeader {
  architecture: string
  tokens: readonly string[]
  tokenTypes: readonly number[]
  merges: readonly string[]
  /** `tokenizer.ggml.pre`: which pre-tokenizer split llama.cpp uses ('qwen2' for Qwen3). */
  preTokenizer: string
  /** Context the model was trained for; 0 when the file does not say. */
  trainedContext: number
  /** Bytes of K and V cache per token at F16, from block count, KV heads and head sizes; 0 when unknown. */
  kvBytesPerToken: number
}

const ggufMagic = 0x46554747
/** Metadata bigger than this is no model header we want to read in a page. */
const maxHeaderBytes = 64 * 1024 * 1024
const firstReadBytes = 4 * 1024 * 1024

/** Thrown by the reader when the bytes end before the metadata does: read more and try again. */
class Truncated extends Error {}

type Value = number | bigint | boolean | string | readonly (number | bigint | boolean | string)[]

const numberSizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 }

class HeaderReader {
  offset = 0
  readonly #view: DataView
  readonly #decoder = new TextDecoder('utf-8')

  constructor(private readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  #take(count: number): number {
    if (this.offset + count > this.bytes.length) throw new Truncated()
    const at = this.offset
    this.offset += count
    return at
  }

  u32(): number {
    return this.#view.getUint32(this.#take(4), true)
  }

  u64(): number {
    const value = this.#view.getBigUint64(this.#take(8), true)
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('GGUF count too large')
    return Number(value)
  }

  string(): string {
    const length = this.u64()
    const at = this.#take(length)
    return this.#decoder.decode(this.bytes.subarray(at, at + length))
  }

  scalar(type: number): number | bigint | boolean | string {
    const view = this.#view
    switch (type) {
      case 0:
        return view.getUint8(this.#take(1))
      case 1:
        return view.getInt8(this.#take(1))
      case 2:
        return view.getUint16(this.#take(2), true)
      case 3:
        return view.getInt16(this.#take(2), true)
      case 4:
        return view.getUint32(this.#take(4), true)
      case 5:
        return view.getInt32(this.#take(4), true)
      case 6:
        return view.getFloat32(this.#take(4), true)
      case 7:
        return view.getUint8(this.#take(1)) !== 0
      case 8:
        return this.string()
      case 10:
        return view.getBigUint64(this.#take(8), true)
      case 11:
        return view.getBigInt64(this.#take(8), true)
      case 12:
        return view.getFloat64(this.#take(8), true)
      default:
        throw new Error(`unknown GGUF value type ${type}`)
    }
  }

  /** A value; an array whose items are not wanted is skipped without building it. */
  value(type: number, keep: boolean): Value | null {
    if (type !== 9) return this.scalar(type)
    const itemType = this.u32()
    const count = this.u64()
    if (itemType === 9) throw new Error('nested GGUF arrays are not supported')
    const size = numberSizes[itemType]
    if (!keep && size !== undefined) {
      this.#take(size * count)
      return null
    }
    const items: (number | bigint | boolean | string)[] = []
    for (let i = 0; i < count; i++) items.push(this.scalar(itemType))
    return keep ? items : null
  }
}

const wantedArrays = new Set(['tokenizer.ggml.tokens', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'])

function parseMetadata(bytes: Uint8Array): Map<string, Value> {
  const input = new HeaderReader(bytes)
  if (input.u32() !== ggufMagic) throw new Error('not a GGUF file')
  const version = input.u32()
  if (version !== 2 && version !== 3) throw new Error(`GGUF version ${version} is not read`)
  input.u64() // tensor count: the tensors are not read
  const count = input.u64()
  const metadata = new Map<string, Value>()
  for (let i = 0; i < count; i++) {
    const key = input.string()
    const type = input.u32()
    const value = input.value(type, type !== 9 || wantedArrays.has(key))
    if (value !== null) metadata.set(key, value)
  }
  return metadata
}

function numberOf(metadata: Map<string, Value>, key: string): number {
  const value = metadata.get(key)
  return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : 0
}

function stringsOf(metadata: Map<string, Value>, key: string): string[] {
  const value = metadata.get(key)
  return Array.isArray(value) ? value.map(String) : []
}

/** The header of the GGUF `bytes` begin with; `Truncated` when they end before it does. */
export function headerOf(bytes: Uint8Array): GgufHeader {
  const metadata = parseMetadata(bytes)
  const architecture = String(metadata.get('general.architecture') ?? '')
  const at = (key: string): number => numberOf(metadata, `${architecture}.${key}`)
  const headCount = at('attention.head_count')
  const headDim = at('attention.key_length') || (headCount > 0 ? at('embedding_length') / headCount : 0)
  const valueDim = at('attention.value_length') || headDim
  const kvHeads = at('attention.head_count_kv') || headCount
  const bytesPerF16 = 2
  const tokenTypesValue = metadata.get('tokenizer.ggml.token_type')
  return {
    architecture,
    tokens: stringsOf(metadata, 'tokenizer.ggml.tokens'),
    tokenTypes: Array.isArray(tokenTypesValue) ? tokenTypesValue.map(Number) : [],
    merges: stringsOf(metadata, 'tokenizer.ggml.merges'),
    preTokenizer: String(metadata.get('tokenizer.ggml.pre') ?? ''),
    trainedContext: at('context_length'),
    kvBytesPerToken: at('block_count') * kvHeads * (headDim + valueDim) * bytesPerF16,
  }
}

/** Reads the header of a GGUF file (the first part of a split model), a few MB at a time. */
export async function readGgufHeader(file: Blob): Promise<GgufHeader> {
  for (let bytes = firstReadBytes; ; bytes *= 2) {
    const slice = new Uint8Array(await file.slice(0, Math.min(bytes, file.size)).arrayBuffer())
    try {
      return headerOf(slice)
    } catch (error) {
      if (!(error instanceof Truncated) || slice.length >= file.size || bytes >= maxHeaderBytes) throw error instanceof Truncated ? new Error('the GGUF header ends early') : error
    }
  }
}

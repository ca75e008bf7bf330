// Parses GGUF v3 bytes back: header, metadata and tensor infos, and F32 tensor data on request.
// The inverse of writer.ts, used by the tests; it reads any GGUF v3 file but nested arrays.
import { alignUp, defaultAlignment, ggufMagic, tensorTypeIds, valueTypeIds, type GgufValue, type ItemKind, type NumberKind } from './format'

export interface GgufTensorInfo {
  name: string
  shape: number[]
  /** ggml type id (format.ts `tensorTypeIds` names the ones this package writes). */
  type: number
  /** Offset from the start of the data section. */
  offset: number
}

export interface ParsedGguf {
  version: number
  metadata: Map<string, GgufValue>
  tensors: GgufTensorInfo[]
  /** Absolute offset of the data section in the file. */
  dataOffset: number
}

const kindsById = new Map<number, ItemKind | 'array'>(Object.entries(valueTypeIds).map(([kind, id]) => [id, kind as ItemKind | 'array']))

class ByteReader {
  offset = 0
  private readonly view: DataView
  private readonly textDecoder = new TextDecoder('utf-8', { fatal: true })

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  private take(count: number): number {
    if (this.offset + count > this.bytes.length) throw new Error(`GGUF truncated at byte ${this.offset}`)
    const at = this.offset
    this.offset += count
    return at
  }

  number(kind: NumberKind): number {
    switch (kind) {
      case 'u8':
        return this.view.getUint8(this.take(1))
      case 'i8':
        return this.view.getInt8(this.take(1))
      case 'u16':
        return this.view.getUint16(this.take(2), true)
      case 'i16':
        return this.view.getInt16(this.take(2), true)
      case 'u32':
        return this.view.getUint32(this.take(4), true)
      case 'i32':
        return this.view.getInt32(this.take(4), true)
      case 'f32':
        return this.view.getFloat32(this.take(4), true)
      case 'f64':
        return this.view.getFloat64(this.take(8), true)
    }
  }

  u64(): bigint {
    return this.view.getBigUint64(this.take(8), true)
  }
  i64(): bigint {
    return this.view.getBigInt64(this.take(8), true)
  }
  bool(): boolean {
    return this.view.getUint8(this.take(1)) !== 0
  }

  safeU64(): number {
    const value = this.u64()
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`GGUF count too large at byte ${this.offset - 8}`)
    return Number(value)
  }

  string(): string {
    const length = this.safeU64()
    const at = this.take(length)
    return this.textDecoder.decode(this.bytes.subarray(at, at + length))
  }
}

function readKind(input: ByteReader): ItemKind | 'array' {
  const id = input.number('u32')
  const kind = kindsById.get(id)
  if (kind === undefined) throw new Error(`unknown GGUF value type ${id} at byte ${input.offset - 4}`)
  return kind
}

function readArray<T>(input: ByteReader, count: number, readItem: () => T): T[] {
  const items: T[] = []
  for (let i = 0; i < count; i++) items.push(readItem())
  return items
}

function readValue(input: ByteReader, kind: ItemKind | 'array'): GgufValue {
  switch (kind) {
    case 'u64':
      return { kind, value: input.u64() }
    case 'i64':
      return { kind, value: input.i64() }
    case 'bool':
      return { kind, value: input.bool() }
    case 'string':
      return { kind, value: input.string() }
    case 'array': {
      const of = readKind(input)
      const count = input.safeU64()
      switch (of) {
        case 'array':
          throw new Error('nested GGUF arrays are not supported')
        case 'u64':
          return { kind, of, value: readArray(input, count, () => input.u64()) }
        case 'i64':
          return { kind, of, value: readArray(input, count, () => input.i64()) }
        case 'bool':
          return { kind, of, value: readArray(input, count, () => input.bool()) }
        case 'string':
          return { kind, of, value: readArray(input, count, () => input.string()) }
        default:
          return { kind, of, value: readArray(input, count, () => input.number(of)) }
      }
    }
    default:
      return { kind, value: input.number(kind) }
  }
}

export function readGguf(bytes: Uint8Array): ParsedGguf {
  const input = new ByteReader(bytes)
  const magic = input.number('u32')
  if (magic !== ggufMagic) throw new Error(`not a GGUF file (magic 0x${magic.toString(16)})`)
  const version = input.number('u32')
  if (version !== 3) throw new Error(`GGUF version ${version}; only version 3 is read`)
  const tensorCount = input.safeU64()
  const metadataCount = input.safeU64()

  const metadata = new Map<string, GgufValue>()
  for (let i = 0; i < metadataCount; i++) {
    const key = input.string()
    metadata.set(key, readValue(input, readKind(input)))
  }

  const tensors: GgufTensorInfo[] = []
  for (let i = 0; i < tensorCount; i++) {
    const name = input.string()
    const dimensions = input.number('u32')
    const shape = readArray(input, dimensions, () => input.safeU64())
    const type = input.number('u32')
    tensors.push({ name, shape, type, offset: input.safeU64() })
  }

  const alignmentValue = metadata.get('general.alignment')
  const alignment = alignmentValue?.kind === 'u32' ? alignmentValue.value : defaultAlignment
  return { version, metadata, tensors, dataOffset: alignUp(input.offset, alignment) }
}

/** A copy of an F32 tensor's values. */
export function readF32Tensor(bytes: Uint8Array, file: ParsedGguf, name: string): Float32Array {
  const info = file.tensors.find((tensor) => tensor.name === name)
  if (info === undefined) throw new Error(`no tensor ${name}`)
  if (info.type !== tensorTypeIds.f32) throw new Error(`tensor ${name} has ggml type ${info.type}, not F32`)
  const count = info.shape.reduce((product, size) => product * size, 1)
  const start = file.dataOffset + info.offset
  return new Float32Array(bytes.slice(start, start + count * 4).buffer)
}

// Encodes a GgufFile (format.ts) as GGUF v3 bytes, as a list of chunks so a large model is
// never copied into one buffer: the header chunk, then each tensor's data and its padding.
import { alignUp, defaultAlignment, ggufMagic, ggufVersion, tensorTypeIds, valueTypeIds, type GgufFile, type GgufValue, type ItemKind } from './format'

class ByteWriter {
  private bytes = new Uint8Array(1 << 16)
  private view = new DataView(this.bytes.buffer)
  private length = 0
  private readonly textEncoder = new TextEncoder()

  get offset(): number {
    return this.length
  }

  private reserve(count: number): number {
    if (this.length + count > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + count))
      grown.set(this.bytes.subarray(0, this.length))
      this.bytes = grown
      this.view = new DataView(grown.buffer)
    }
    const at = this.length
    this.length += count
    return at
  }

  u8(value: number): void {
    this.view.setUint8(this.reserve(1), value)
  }
  i8(value: number): void {
    this.view.setInt8(this.reserve(1), value)
  }
  u16(value: number): void {
    this.view.setUint16(this.reserve(2), value, true)
  }
  i16(value: number): void {
    this.view.setInt16(this.reserve(2), value, true)
  }
  u32(value: number): void {
    this.view.setUint32(this.reserve(4), value, true)
  }
  i32(value: number): void {
    this.view.setInt32(this.reserve(4), value, true)
  }
  f32(value: number): void {
    this.view.setFloat32(this.reserve(4), value, true)
  }
  f64(value: number): void {
    this.view.setFloat64(this.reserve(8), value, true)
  }
  u64(value: bigint): void {
    this.view.setBigUint64(this.reserve(8), value, true)
  }
  i64(value: bigint): void {
    this.view.setBigInt64(this.reserve(8), value, true)
  }

  string(value: string): void {
    const encoded = this.textEncoder.encode(value)
    this.u64(BigInt(encoded.length))
    this.bytes.set(encoded, this.reserve(encoded.length))
  }

  padTo(alignment: number): void {
    this.reserve(alignUp(this.length, alignment) - this.length) // reserve() leaves new bytes zero
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length)
  }
}

function writeItem(out: ByteWriter, kind: ItemKind, item: number | bigint | boolean | string): void {
  switch (kind) {
    case 'u64':
      out.u64(BigInt(item))
      return
    case 'i64':
      out.i64(BigInt(item))
      return
    case 'bool':
      out.u8(item === true ? 1 : 0)
      return
    case 'string':
      out.string(String(item))
      return
    default:
      out[kind](Number(item))
  }
}

function writeValue(out: ByteWriter, value: GgufValue): void {
  if (value.kind !== 'array') {
    writeItem(out, value.kind, value.value)
    return
  }
  out.u32(valueTypeIds[value.of])
  out.u64(BigInt(value.value.length))
  for (const item of value.value) writeItem(out, value.of, item)
}

/** GGUF v3 bytes of `file`, in chunks; concatenated they are the file. */
export function encodeGguf(file: GgufFile): Uint8Array[] {
  const out = new ByteWriter()
  out.u32(ggufMagic)
  out.u32(ggufVersion)
  out.u64(BigInt(file.tensors.length))
  out.u64(BigInt(file.metadata.size))
  for (const [key, value] of file.metadata) {
    out.string(key)
    out.u32(valueTypeIds[value.kind])
    writeValue(out, value)
  }

  let dataOffset = 0
  for (const tensor of file.tensors) {
    const elements = tensor.shape.reduce((product, size) => product * size, 1)
    if (elements !== tensor.data.length) {
      throw new Error(`tensor ${tensor.name}: shape [${tensor.shape.join(', ')}] holds ${elements} values, data has ${tensor.data.length}`)
    }
    out.string(tensor.name)
    out.u32(tensor.shape.length)
    for (const size of tensor.shape) out.u64(BigInt(size))
    out.u32(tensorTypeIds.f32)
    out.u64(BigInt(dataOffset))
    dataOffset = alignUp(dataOffset + tensor.data.byteLength, defaultAlignment)
  }
  out.padTo(defaultAlignment)

  const chunks = [out.finish()]
  for (const tensor of file.tensors) {
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength)
    chunks.push(bytes)
    const padding = alignUp(bytes.length, defaultAlignment) - bytes.length
    if (padding > 0) chunks.push(new Uint8Array(padding))
  }
  return chunks
}

// The few protobuf wire rules an ONNX model needs, written by hand: varints, length-delimited
// fields and packed values. A generated protobuf library would add far more than these nets use.
import { registerError } from '../../shared/errors'

/** Wire types: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit. */
export type WireType = 0 | 1 | 2 | 5

export class ProtoWriter {
  readonly #chunks: Uint8Array[] = []
  #length = 0

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes)
    this.#length += bytes.length
  }

  #varint(value: number | bigint): void {
    // Negative int64s are written as their 64-bit two's complement (ten bytes), as protobuf does.
    let rest = BigInt.asUintN(64, BigInt(value))
    const bytes: number[] = []
    while (rest >= 0x80n) {
      bytes.push(Number(rest & 0x7fn) | 0x80)
      rest >>= 7n
    }
    bytes.push(Number(rest))
    this.#push(Uint8Array.from(bytes))
  }

  #tag(field: number, wire: WireType): void {
    this.#varint((field << 3) | wire)
  }

  /** An int32, int64, enum or bool field. */
  int(field: number, value: number | bigint): this {
    this.#tag(field, 0)
    this.#varint(value)
    return this
  }

  float(field: number, value: number): this {
    this.#tag(field, 5)
    const bytes = new Uint8Array(4)
    new DataView(bytes.buffer).setFloat32(0, value, true)
    this.#push(bytes)
    return this
  }

  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, 2)
    this.#varint(value.length)
    this.#push(value)
    return this
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  /** A nested message, written by `write` into its own writer. */
  message(field: number, write: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter()
    write(inner)
    return this.bytes(field, inner.finish())
  }

  /** Repeated varints, packed (the proto3 default for repeated scalars). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter()
    for (const value of values) inner.#varint(value)
    return this.bytes(field, inner.finish())
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length)
    let offset = 0
    for (const chunk of this.#chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }
}

/** Float32 values as little-endian bytes (a TensorProto's `raw_data`). */
export function float32LittleEndian(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4)
  const view = new DataView(bytes.buffer)
  values.forEach((value, index) => view.setFloat32(index * 4, value, true))
  return bytes
}

export interface ProtoField {
  field: number
  wire: WireType
  /** Varints as bigint; fixed32 and fixed64 as their raw bytes; length-delimited as bytes. */
  value: bigint | Uint8Array
}

export class ProtoDecodeError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override name = 'ProtoDecodeError'
}

/** Splits one message into its fields; throws ProtoDecodeError on bytes that are not protobuf. */
export function readFields(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = []
  let offset = 0
  const varint = (): bigint => {
    let result = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = bytes[offset++]
      if (byte === undefined) throw new ProtoDecodeError('truncated varint')
      result |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) return result
    }
    throw new ProtoDecodeError('varint too long')
  }
  const take = (length: number): Uint8Array => {
    if (offset + length > bytes.length) throw new ProtoDecodeError('field runs past the end')
    const slice = bytes.subarray(offset, offset + length)
    offset += length
    return slice
  }
  while (offset < bytes.length) {
    const tag = varint()
    const field = Number(tag >> 3n)
    const wire = Number(tag & 7n)
    if (field < 1) throw new ProtoDecodeError('field number 0')
    switch (wire) {
      case 0:
        fields.push({ field, wire, value: varint() })
        break
      case 1:
        fields.push({ field, wire, value: take(8) })
        break
      case 2:
        fields.push({ field, wire, value: take(Number(varint())) })
        break
      case 5:
        fields.push({ field, wire, value: take(4) })
        break
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wire}`)
    }
  }
  return fields
}

/** The values of a packed repeated varint field (e.g. a TensorProto's `dims`). */
export function readPackedVarints(bytes: Uint8Array): bigint[] {
  const values: bigint[] = []
  let value = 0n
  let shift = 0n
  for (const byte of bytes) {
    value |= BigInt(byte & 0x7f) << shift
    shift += 7n
    if (byte < 0x80) {
      values.push(value)
      value = 0n
      shift = 0n
    } else if (shift >= 70n) throw new ProtoDecodeError('varint too long')
  }
  if (shift !== 0n) throw new ProtoDecodeError('truncated packed varint')
  return values
}

// The bench GGUF in the quantisation the catalog's WASM models ship in (Q8_0, as Qwen3-0.6B-Q8_0):
// the generator writes F32 weights only, and llama.cpp's CPU kernels differ most between F32 (native
// AVX FMA, 8 lanes, against WASM SIMD's 4) and the quantised dot products production runs.
// Q8_0 (ggml's block_q8_0): blocks of 32 values, an f16 scale then 32 int8s, value ≈ scale × int8.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { readGguf } from '../../scripts/gguf/reader'

const ggmlF32 = 0
const ggmlQ8_0 = 8
/** LLAMA_FTYPE_MOSTLY_Q8_0 */
const fileTypeQ8_0 = 7
const blockValues = 32
const blockBytes = 2 + blockValues

/** IEEE half of `value`, round to nearest even (the scale of a block, never NaN here). */
export function toHalfBits(value: number): number {
  const f32 = new Float32Array([value])
  const bits = new Uint32Array(f32.buffer)[0] ?? 0
  const sign = (bits >>> 16) & 0x8000
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15
  let mantissa = bits & 0x7fffff
  if (exponent >= 0x1f) return sign | 0x7c00
  if (exponent <= 0) {
    if (exponent < -10) return sign
    mantissa |= 0x800000
    const shift = 14 - exponent
    const half = mantissa >>> shift
    const rest = mantissa & ((1 << shift) - 1)
    const midpoint = 1 << (shift - 1)
    return sign | (rest > midpoint || (rest === midpoint && (half & 1) === 1) ? half + 1 : half)
  }
  const half = (exponent << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  return sign | (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? half + 1 : half)
}

function halfToNumber(bits: number): number {
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  const magnitude = exponent === 0 ? mantissa * 2 ** -24 : exponent === 0x1f ? Number.POSITIVE_INFINITY : (1 + mantissa / 1024) * 2 ** (exponent - 15)
  return bits & 0x8000 ? -magnitude : magnitude
}

/** `values` (a multiple of 32) as Q8_0 blocks, as ggml's quantize_row_q8_0_ref writes them. */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % blockValues !== 0) throw new Error(`Q8_0 needs rows of a multiple of ${blockValues} values, got ${values.length}`)
  const out = new Uint8Array((values.length / blockValues) * blockBytes)
  const view = new DataView(out.buffer)
  for (let block = 0; block * blockValues < values.length; block++) {
    const start = block * blockValues
    let amax = 0
    for (let i = 0; i < blockValues; i++) amax = Math.max(amax, Math.abs(values[start + i] ?? 0))
    const scale = amax / 127
    const inverse = scale ? 1 / scale : 0
    const at = block * blockBytes
    view.setUint16(at, toHalfBits(scale), true)
    for (let i = 0; i < blockValues; i++) view.setInt8(at + 2 + i, Math.round((values[start + i] ?? 0) * inverse))
  }
  return out
}

/** The values of Q8_0 blocks (for the test that the blocks say what was quantised). */
export function dequantizeQ8_0(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float32Array((bytes.length / blockBytes) * blockValues)
  for (let block = 0; block * blockBytes < bytes.length; block++) {
    const scale = halfToNumber(view.getUint16(block * blockBytes, true))
    for (let i = 0; i < blockValues; i++) out[block * blockValues + i] = scale * view.getInt8(block * blockBytes + 2 + i)
  }
  return out
}

const alignUp = (offset: number, alignment: number): number => Math.ceil(offset / alignment) * alignment

/** Where the tensor info of `name` starts in the header: its length-prefixed name, found after `from`. */
function infoPosition(header: Uint8Array, name: string, from: number): number {
  const encoded = new TextEncoder().encode(name)
  const pattern = new Uint8Array(8 + encoded.length)
  new DataView(pattern.buffer).setBigUint64(0, BigInt(encoded.length), true)
  pattern.set(encoded, 8)
  const at = Buffer.from(header.buffer, header.byteOffset, header.byteLength).indexOf(pattern, from)
  if (at < 0) throw new Error(`tensor info of ${name} not found`)
  return at
}

/**
 * A copy of the F32 GGUF `bytes` with every 2-D weight in Q8_0 (norms and other 1-D tensors stay
 * F32, as llama-quantize leaves them). The header keeps its length: only each tensor's type and
 * offset, and general.file_type, change in place.
 */
export function requantizeQ8_0(bytes: Uint8Array): Uint8Array[] {
  const parsed = readGguf(bytes)
  const header = bytes.slice(0, parsed.dataOffset)
  const view = new DataView(header.buffer)
  const alignmentValue = parsed.metadata.get('general.alignment')
  const alignment = alignmentValue?.kind === 'u32' ? alignmentValue.value : 32
  const fileTypeKey = new TextEncoder().encode('general.file_type')
  const keyAt = Buffer.from(header).indexOf(Buffer.from(fileTypeKey))
  // The key, then its value type (u32: 4), then the value.
  if (keyAt < 0 || view.getUint32(keyAt + fileTypeKey.length, true) !== 4) throw new Error('general.file_type is not a u32 in this GGUF')
  view.setUint32(keyAt + fileTypeKey.length + 4, fileTypeQ8_0, true)

  const chunks: Uint8Array[] = [header]
  let offset = 0
  let searchFrom = keyAt
  for (const tensor of parsed.tensors) {
    if (tensor.type !== ggmlF32) throw new Error(`tensor ${tensor.name} is not F32`)
    const count = tensor.shape.reduce((product, size) => product * size, 1)
    const start = parsed.dataOffset + tensor.offset
    const values = new Float32Array(bytes.slice(start, start + count * 4).buffer)
    const quantize = tensor.shape.length === 2 && (tensor.shape[0] ?? 0) % blockValues === 0
    const data = quantize ? quantizeQ8_0(values) : new Uint8Array(values.buffer)
    const at = infoPosition(header, tensor.name, searchFrom)
    searchFrom = at + 1
    const typeAt = at + 8 + new TextEncoder().encode(tensor.name).length + 4 + 8 * tensor.shape.length
    view.setUint32(typeAt, quantize ? ggmlQ8_0 : ggmlF32, true)
    view.setBigUint64(typeAt + 4, BigInt(offset), true)
    chunks.push(data)
    const padded = alignUp(data.length, alignment)
    if (padded > data.length) chunks.push(new Uint8Array(padded - data.length))
    offset += padded
  }
  return chunks
}

/** Writes `target` (Q8_0) from `source` (F32) unless it is there already and newer. */
export function ensureQ8_0Copy(source: string, target: string): void {
  if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) return
  const chunks = requantizeQ8_0(new Uint8Array(readFileSync(source)))
  const partial = `${target}.partial`
  writeFileSync(partial, Buffer.concat(chunks))
  renameSync(partial, target)
}

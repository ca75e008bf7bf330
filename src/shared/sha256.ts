/**
 * SHA-256 (FIPS 180-4) fed a piece at a time, with a state that can be saved and restored: a
 * model download hashes as it writes and carries on after a reload from the saved state.
 * WebCrypto's `digest` takes the whole input at once, and a GGUF is hundreds of MB.
 */
const roundConstants = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])
const initialHash = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
const blockBytes = 64

/** What `Sha256.save` returns: plain JSON, so it can be kept beside the bytes it covers. */
export interface Sha256State {
  /** The eight working words. */
  hash: number[]
  /** Bytes hashed so far, the partial block included. */
  bytes: number
  /** The partial block not yet hashed, as hex (empty at a 64-byte boundary). */
  pending: string
}

const toHex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')

function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) throw new TypeError('not a hex string')
  return Uint8Array.from({ length: hex.length / 2 }, (_, index) => parseInt(hex.slice(index * 2, index * 2 + 2), 16))
}

export class Sha256 {
  readonly #hash = Uint32Array.from(initialHash)
  readonly #block = new Uint8Array(blockBytes)
  readonly #words = new Int32Array(64)
  #blockFill = 0
  #bytes = 0

  /** A hasher that continues from `state` (what `save` returned). */
  static restore(state: Sha256State): Sha256 {
    const pending = fromHex(state.pending)
    const valid = state.hash.length === 8 && state.hash.every((word) => Number.isInteger(word) && word >= 0 && word <= 0xffffffff)
    if (!valid || !Number.isSafeInteger(state.bytes) || pending.length !== state.bytes % blockBytes) throw new TypeError('not a SHA-256 state')
    const hasher = new Sha256()
    hasher.#hash.set(state.hash)
    hasher.#block.set(pending)
    hasher.#blockFill = pending.length
    hasher.#bytes = state.bytes
    return hasher
  }

  /** Bytes fed so far. */
  get bytes(): number {
    return this.#bytes
  }

  update(data: Uint8Array): this {
    let offset = 0
    this.#bytes += data.length
    if (this.#blockFill > 0) {
      const taken = Math.min(blockBytes - this.#blockFill, data.length)
      this.#block.set(data.subarray(0, taken), this.#blockFill)
      this.#blockFill += taken
      offset = taken
      if (this.#blockFill < blockBytes) return this
      compress(this.#hash, this.#words, this.#block, 0)
      this.#blockFill = 0
    }
    for (; offset + blockBytes <= data.length; offset += blockBytes) compress(this.#hash, this.#words, data, offset)
    this.#block.set(data.subarray(offset))
    this.#blockFill = data.length - offset
    return this
  }

  save(): Sha256State {
    return { hash: Array.from(this.#hash), bytes: this.#bytes, pending: toHex(this.#block.subarray(0, this.#blockFill)) }
  }

  /** The digest as lowercase hex; the hasher itself is left as it was (more may be fed). */
  hex(): string {
    const copy = Sha256.restore(this.save())
    const bitLength = this.#bytes * 8
    const padding = new Uint8Array((this.#blockFill < 56 ? 56 : 120) - this.#blockFill + 8)
    padding[0] = 0x80
    const tail = new DataView(padding.buffer)
    tail.setUint32(padding.length - 8, Math.floor(bitLength / 2 ** 32))
    tail.setUint32(padding.length - 4, bitLength >>> 0)
    copy.update(padding)
    const out = new DataView(new ArrayBuffer(32))
    copy.#hash.forEach((word, index) => out.setUint32(index * 4, word))
    return toHex(new Uint8Array(out.buffer))
  }
}

/*
 * One 64-byte block of `data` at `offset` into `hash` (`w`: scratch for the message schedule).
 * The hot loop of a model download: typed-array reads are cast rather than defaulted (`?? 0`),
 * as every index here is in range by construction and the defaults cost a third of the speed.
 */
function compress(hash: Uint32Array, w: Int32Array, data: Uint8Array, offset: number): void {
  for (let t = 0, at = offset; t < 16; t++, at += 4) w[t] = ((data[at] as number) << 24) | ((data[at + 1] as number) << 16) | ((data[at + 2] as number) << 8) | (data[at + 3] as number)
  for (let t = 16; t < 64; t++) {
    const w15 = w[t - 15] as number
    const w2 = w[t - 2] as number
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3)
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10)
    w[t] = ((w[t - 16] as number) + s0 + (w[t - 7] as number) + s1) | 0
  }
  let a = (hash[0] as number) | 0
  let b = (hash[1] as number) | 0
  let c = (hash[2] as number) | 0
  let d = (hash[3] as number) | 0
  let e = (hash[4] as number) | 0
  let f = (hash[5] as number) | 0
  let g = (hash[6] as number) | 0
  let k = (hash[7] as number) | 0
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const t1 = (k + s1 + ((e & f) ^ (~e & g)) + (roundConstants[t] as number) + (w[t] as number)) | 0
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
    k = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  hash[0] = (hash[0] as number) + a
  hash[1] = (hash[1] as number) + b
  hash[2] = (hash[2] as number) + c
  hash[3] = (hash[3] as number) + d
  hash[4] = (hash[4] as number) + e
  hash[5] = (hash[5] as number) + f
  hash[6] = (hash[6] as number) + g
  hash[7] = (hash[7] as number) + k
}

/** The SHA-256 of `data` as lowercase hex. */
export const sha256Hex = (data: Uint8Array): string => new Sha256().update(data).hex()

/** True for a SHA-256 written as 64 hex digits. */
export const isSha256Hex = (value: string): boolean => /^[0-9a-f]{64}$/i.test(value)

// The replica's file format: a sequence of records, each a 4-byte big-endian length, the first
// 4 bytes of the SHA-256 of the payload, then the payload (one Yjs update). A torn last write
// (a crash, a full disk) leaves a record short or with a wrong checksum: reading stops there.
import { createHash } from 'node:crypto'

const headerBytes = 8
/** Far above any update the gateway lets through; a length past it is a torn or foreign file. */
export const maxRecordBytes = 256 * 1024 * 1024

function checksum(payload: Uint8Array): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, 4)
}

export function encodeRecords(payloads: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = []
  for (const payload of payloads) {
    const header = Buffer.alloc(headerBytes)
    header.writeUInt32BE(payload.byteLength, 0)
    checksum(payload).copy(header, 4)
    parts.push(header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength))
  }
  return Buffer.concat(parts)
}

/** The whole records at the start of `bytes`, and how many bytes they take (the rest is a torn tail). */
export function decodeRecords(bytes: Buffer): { payloads: Uint8Array[]; validBytes: number } {
  const payloads: Uint8Array[] = []
  let offset = 0
  while (offset + headerBytes <= bytes.byteLength) {
    const length = bytes.readUInt32BE(offset)
    const end = offset + headerBytes + length
    if (length > maxRecordBytes || end > bytes.byteLength) break
    const payload = bytes.subarray(offset + headerBytes, end)
    if (!checksum(payload).equals(bytes.subarray(offset + 4, offset + headerBytes))) break
    payloads.push(new Uint8Array(payload))
    offset = end
  }
  return { payloads, validBytes: offset }
}

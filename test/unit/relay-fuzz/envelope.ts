// y-webrtc's signaling encryption (node_modules/y-webrtc/src/crypto.js), rebuilt for the
// fuzzer, which plays a member that knows the room key: PBKDF2 of the key salted with the room
// name, AES-GCM, and the envelope varString 'AES-GCM' · varUint8Array iv · varUint8Array cipher.
import * as encoding from 'lib0/encoding'

export function deriveRoomKey(secret: string, roomName: string): Promise<CryptoKey> {
  const text = new TextEncoder()
  return crypto.subtle
    .importKey('raw', text.encode(secret), 'PBKDF2', false, ['deriveKey'])
    .then((material) =>
      crypto.subtle.deriveKey({ name: 'PBKDF2', salt: text.encode(roomName), iterations: 100_000, hash: 'SHA-256' }, material, { name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']),
    )
}

/** The envelope of `cipher` with `iv`, as bytes. */
export function envelopeBytes(iv: Uint8Array, cipher: Uint8Array, algorithm = 'AES-GCM'): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, algorithm)
  encoding.writeVarUint8Array(encoder, iv)
  encoding.writeVarUint8Array(encoder, cipher)
  return encoding.toUint8Array(encoder)
}

/** Encrypts `plain` bytes under `key` into an envelope. */
export async function encryptBytes(plain: Uint8Array, key: CryptoKey): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const cipher = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, Uint8Array.from(plain)))
  return envelopeBytes(iv, cipher)
}

/** Encrypts a value as y-webrtc does (lib0's writeAny, then AES-GCM). */
export function encryptAny(value: unknown, key: CryptoKey): Promise<Uint8Array> {
  const encoder = encoding.createEncoder()
  encoding.writeAny(encoder, value as Parameters<typeof encoding.writeAny>[1])
  return encryptBytes(encoding.toUint8Array(encoder), key)
}

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

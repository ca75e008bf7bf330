import { fromBase64Url, sha256, toBase64Url, toHex, utf8 } from './encoding'
import { IdentityError } from './errors'

const algorithm = { name: 'Ed25519' } as const

/** WebCrypto's key, as the DOM and Node both type it (src/shared compiles without the DOM library). */
type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>
export interface KeyPair {
  publicKey: Key
  privateKey: Key
}
const nodeIdBytes = 10

/** A signer holds a private key that may be non-extractable; only `sign` touches it. */
export interface Signer {
  readonly nodeId: string
  /** Raw Ed25519 public key, base64url. */
  readonly publicKey: string
  sign(payload: Uint8Array<ArrayBuffer>): Promise<string>
}

export async function generateKeyPair(extractable: boolean): Promise<KeyPair> {
  const keys = await crypto.subtle.generateKey(algorithm, extractable, ['sign', 'verify'])
  // Node types Ed25519's generateKey as "a key or a pair"; it is always a pair.
  if (!('publicKey' in keys)) throw new IdentityError('WebCrypto made one Ed25519 key, not a pair')
  return keys
}

const nodeIds = new Map<string, Promise<string>>()
const maxCachedKeys = 4096

/** Node id: the first 10 bytes of SHA-256 of the raw public key, in hex. */
export function nodeIdOf(publicKey: string): Promise<string> {
  let nodeId = nodeIds.get(publicKey)
  if (!nodeId) {
    if (nodeIds.size >= maxCachedKeys) nodeIds.clear()
    nodeId = sha256(fromBase64Url(publicKey)).then((digest) => toHex(digest.slice(0, nodeIdBytes)))
    nodeIds.set(publicKey, nodeId)
    nodeId.catch(() => nodeIds.delete(publicKey))
  }
  return nodeId
}

export async function signerFromKeyPair(keys: KeyPair): Promise<Signer> {
  const publicKey = toBase64Url(new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey)))
  const nodeId = await nodeIdOf(publicKey)
  return {
    nodeId,
    publicKey,
    sign: async (payload) => toBase64Url(new Uint8Array(await crypto.subtle.sign(algorithm, keys.privateKey, payload))),
  }
}

const importedKeys = new Map<string, Promise<Key>>()

function importPublicKey(publicKey: string): Promise<Key> {
  let key = importedKeys.get(publicKey)
  if (!key) {
    if (importedKeys.size >= maxCachedKeys) importedKeys.clear()
    key = crypto.subtle.importKey('raw', fromBase64Url(publicKey), algorithm, true, ['verify'])
    importedKeys.set(publicKey, key)
    key.catch(() => importedKeys.delete(publicKey))
  }
  return key
}

/** True only when `signature` is `publicKey`'s signature of `payload`; never throws. */
export async function verifySignature(publicKey: string, signature: string, payload: Uint8Array<ArrayBuffer>): Promise<boolean> {
  try {
    return await crypto.subtle.verify(algorithm, await importPublicKey(publicKey), fromBase64Url(signature), payload)
  } catch {
    return false
  }
}

/**
 * True only when `publicKey` belongs to node `signerId` and signed `payload` with it: the check
 * every signed value of the shared doc gets. Never throws.
 */
export async function verifySigned(signerId: string, publicKey: string, signature: string, payload: Uint8Array<ArrayBuffer>): Promise<boolean> {
  try {
    return (await nodeIdOf(publicKey)) === signerId && (await verifySignature(publicKey, signature, payload))
  } catch {
    return false
  }
}

/** The bytes that get signed: a tagged JSON array, so the encoding has one spelling. */
export function signingPayload(tag: string, fields: readonly unknown[]): Uint8Array<ArrayBuffer> {
  return utf8(signingText(tag, fields))
}

/** signingPayload as text (one spelling: a kept verdict compares it whole). */
export function signingText(tag: string, fields: readonly unknown[]): string {
  return JSON.stringify([tag, ...fields])
}

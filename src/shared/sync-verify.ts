import { fromBase64Url } from './encoding'
import { nodeIdOf } from './sign'

/**
 * Ed25519 checks that answer at once: libsodium's, compiled to WebAssembly. WebCrypto's verify
 * is as fast but answers through its own thread and the event loop, a hop that costs more than
 * the check itself on a busy tab; a caller that checks many signatures in one go (the memory's
 * verifier) checks them here instead, in slices it sizes itself. Signing stays WebCrypto's: its
 * keys never leave it.
 *
 * libsodium refuses a few signatures WebCrypto lets through (small-order keys and points, the
 * malleable spellings of a signature), none of which an honest signer makes: everything that
 * checks a kind of value must check it here, so that no two nodes judge one value apart.
 */
export interface SyncVerifier {
  /**
   * True only when `publicKey` belongs to node `signerId` and signed `payload` with it; null when
   * the key is not learnt yet (learnKey first). Never throws.
   */
  verifySigned(signerId: string, publicKey: string, signature: string, payload: Uint8Array): boolean | null
  /** Learns a key's node id (SHA-256 is WebCrypto's: an await, once per key). Never rejects. */
  learnKey(publicKey: string): Promise<void>
}

type Sodium = (typeof import('libsodium-wrappers'))['default']

const publicKeyBytes = 32
const signatureBytes = 64
const maxCachedKeys = 4096

class SodiumVerifier implements SyncVerifier {
  /** base64url public key → its raw bytes and node id; null for what is not a key. */
  readonly #keys = new Map<string, { raw: Uint8Array; nodeId: string } | null>()

  constructor(private readonly sodium: Sodium) {}

  verifySigned(signerId: string, publicKey: string, signature: string, payload: Uint8Array): boolean | null {
    const key = this.#keys.get(publicKey)
    if (key === undefined) return null
    if (key?.nodeId !== signerId) return false
    try {
      const sig = fromBase64Url(signature)
      return sig.length === signatureBytes && this.sodium.crypto_sign_verify_detached(sig, payload, key.raw)
    } catch {
      return false
    }
  }

  async learnKey(publicKey: string): Promise<void> {
    if (this.#keys.has(publicKey)) return
    let key: { raw: Uint8Array; nodeId: string } | null = null
    try {
      const raw = fromBase64Url(publicKey)
      if (raw.length === publicKeyBytes) key = { raw, nodeId: await nodeIdOf(publicKey) }
    } catch {
      key = null
    }
    if (this.#keys.size >= maxCachedKeys) this.#keys.clear()
    this.#keys.set(publicKey, key)
  }
}

let loading: Promise<SyncVerifier> | undefined

/** The process's verifier, loaded once (the WebAssembly module compiles on first use). */
export function syncVerifier(): Promise<SyncVerifier> {
  loading ??= import('libsodium-wrappers').then(async ({ default: sodium }) => {
    await sodium.ready
    return new SodiumVerifier(sodium)
  })
  loading.catch(() => (loading = undefined))
  return loading
}

import { signerFromKeyPair, type Signer } from '../../../src/shared/sign'
import { fromBase64Url } from '../../../src/shared/encoding'
import { mulberry32 } from '../../../src/shared/hash'

const pkcs8Prefix = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
const signers = new Map<number, Promise<Signer>>()

/** The same Ed25519 identity for index i in every run, so a replayed seed sees the same node ids. */
export function fixedSigner(index: number): Promise<Signer> {
  let signer = signers.get(index)
  if (!signer) {
    signer = make(index)
    signers.set(index, signer)
  }
  return signer
}

async function make(index: number): Promise<Signer> {
  // Each index its own generator: (the low byte of a hash per byte repeated across indexes, and
  // nodes of a large simulated room shared identities).
  const random = mulberry32(Math.imul(index + 1, 0x9e3779b1) >>> 0)
  const seed = Array.from({ length: 32 }, () => Math.floor(random() * 256))
  const pkcs8 = new Uint8Array([...pkcs8Prefix, ...seed])
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign'])
  const jwk = await crypto.subtle.exportKey('jwk', privateKey)
  const publicKey = await crypto.subtle.importKey('raw', fromBase64Url(jwk.x ?? ''), { name: 'Ed25519' }, true, ['verify'])
  return signerFromKeyPair({ privateKey, publicKey })
}

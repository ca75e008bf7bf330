import type { LocalDb } from '../../memory/local-db'
import { IdentityError } from '../../shared/errors'
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../shared/sign'

/**
 * This profile's identity: an Ed25519 key pair kept in IndexedDB, the private key
 * non-extractable, made on first use and the same on every later visit.
 */
export async function loadIdentity(db: LocalDb): Promise<Signer> {
  try {
    const stored = await db.get('identity', 'self')
    if (stored) return await signerFromKeyPair(stored.keys)
    const keys = await generateKeyPair(false)
    // Two tabs opening at once both generate; `add` lets one win and the other reads it back.
    try {
      await db.add('identity', { keys, createdAt: Date.now() }, 'self')
      return await signerFromKeyPair(keys)
    } catch {
      const winner = await db.get('identity', 'self')
      if (!winner) throw new IdentityError('identity could not be stored')
      return await signerFromKeyPair(winner.keys)
    }
  } catch (error) {
    if (error instanceof IdentityError) throw error
    throw new IdentityError(`this browser cannot keep an Ed25519 identity: ${error instanceof Error ? error.message : String(error)}`)
  }
}

// The relay's Ed25519 identity in the rooms it joins: in memory, or kept in RELAY_KEY_FILE
// (JSON Web Keys, mode 0600) so its node id survives restarts.
import type { webcrypto } from 'node:crypto'
import { registerError } from '../../shared/errors'
import { readFile, writeFile } from 'node:fs/promises'
import { generateKeyPair, signerFromKeyPair, type KeyPair, type Signer } from '../../shared/sign'

const algorithm = { name: 'Ed25519' } as const

export class RelayKeyError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override readonly name = 'RelayKeyError'
}

interface KeyFile {
  v: 1
  publicKey: webcrypto.JsonWebKey
  privateKey: webcrypto.JsonWebKey
}

function isKeyFile(value: unknown): value is KeyFile {
  if (typeof value !== 'object' || value === null) return false
  const record = value as Record<string, unknown>
  return record.v === 1 && typeof record.publicKey === 'object' && record.publicKey !== null && typeof record.privateKey === 'object' && record.privateKey !== null
}

async function readKeys(keyFile: string): Promise<KeyPair | null> {
  let text: string
  try {
    text = await readFile(keyFile, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new RelayKeyError(`cannot read RELAY_KEY_FILE ${keyFile}: ${(error as Error).message}`)
  }
  try {
    const parsed: unknown = JSON.parse(text)
    if (!isKeyFile(parsed)) throw new Error('not an edgeswarm relay key file')
    const [publicKey, privateKey] = await Promise.all([
      crypto.subtle.importKey('jwk', parsed.publicKey, algorithm, true, ['verify']),
      crypto.subtle.importKey('jwk', parsed.privateKey, algorithm, false, ['sign']),
    ])
    return { publicKey, privateKey }
  } catch (error) {
    throw new RelayKeyError(`RELAY_KEY_FILE ${keyFile} is not a valid key file (${(error as Error).message}); move it away to make a new identity`)
  }
}

/** The relay's signer: from `keyFile` when it exists, else new (and written there when given). */
export async function loadRelaySigner(keyFile: string | null): Promise<Signer> {
  const stored = keyFile === null ? null : await readKeys(keyFile)
  if (stored) return signerFromKeyPair(stored)
  const keys = await generateKeyPair(keyFile !== null)
  if (keyFile !== null) {
    const file: KeyFile = {
      v: 1,
      publicKey: await crypto.subtle.exportKey('jwk', keys.publicKey),
      privateKey: await crypto.subtle.exportKey('jwk', keys.privateKey),
    }
    try {
      // 'wx': two relays starting at once must not overwrite each other's identity.
      await writeFile(keyFile, `${JSON.stringify(file)}\n`, { mode: 0o600, flag: 'wx' })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new RelayKeyError(`cannot write RELAY_KEY_FILE ${keyFile}: ${(error as Error).message}`)
      return loadRelaySigner(keyFile)
    }
  }
  return signerFromKeyPair(keys)
}

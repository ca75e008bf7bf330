import { verifySigned } from '../shared/sign'
import { checkVersion, type SignedPayload, type Verdict } from './entry'

/** The signature check a verifier runs (WebCrypto's Ed25519 by default; tests slow it down). */
export type SignatureCheck = (author: string, publicKey: string, sig: string, payload: Uint8Array<ArrayBuffer>) => Promise<boolean>

export interface VerifierOptions {
  clock?: () => number
  /** Signatures whose verdict is kept (the oldest go first). */
  maxCached?: number
  /** Characters of signed payload the kept verdicts may hold in all. */
  maxCachedChars?: number
  check?: SignatureCheck
}

export interface VerifierStats {
  /** Versions asked about. */
  asked: number
  /** Signature checks run (the rest: refused by the cheap checks, or found in the cache). */
  checked: number
  cacheHits: number
  /** Batches run: one per task in which versions arrived. */
  batches: number
}

interface Asked {
  id: string
  value: unknown
  resolve: (verdict: Verdict) => void
}

const defaultMaxCached = 4_096
const defaultMaxCachedChars = 4 * 1024 * 1024

/**
 * Verifies the versions of one room's memory map in batches: what arrives within one task (one
 * peer message, one sync of the whole map) is checked together once that task's synchronous work
 * is done: the cheap checks (shape, size, room, author, clock) first, then every remaining
 * signature check handed to WebCrypto at once (it runs them off the main thread, in parallel).
 * Each version's verdict is told as soon as its own check ends: a flood of forgeries in the same
 * batch does not hold back a valid version.
 *
 * A signature that verified is kept with the exact signed payload it verified (tag, room, id,
 * every field, the key): a version is let through without a second check only when its payload
 * is that very text, so a value with the same signature and any other field, another room's
 * copy, or another key misses the cache and is checked in full. A replay of an older version is
 * a valid signature: the cache says so, and the store refuses it by its marks as before (the
 * cache answers "who signed this", never "is this the newest"). Only good signatures are kept
 * (forgeries are endless), within a count and a size.
 */
export class VersionVerifier {
  readonly #clock: () => number
  readonly #check: SignatureCheck
  readonly #maxCached: number
  readonly #maxCachedChars: number
  /** sig → the payload text it verified, oldest first. */
  readonly #verified = new Map<string, string>()
  #cachedChars = 0
  #queue: Asked[] = []
  readonly #stats: VerifierStats = { asked: 0, checked: 0, cacheHits: 0, batches: 0 }

  constructor(
    /** The room id every version must name. */
    readonly room: string,
    options: VerifierOptions = {},
  ) {
    this.#clock = options.clock ?? Date.now
    this.#check = options.check ?? verifySigned
    this.#maxCached = options.maxCached ?? defaultMaxCached
    this.#maxCachedChars = options.maxCachedChars ?? defaultMaxCachedChars
  }

  get stats(): Readonly<VerifierStats> {
    return { ...this.#stats }
  }

  /** How many verdicts are kept now. */
  get cached(): number {
    return this.#verified.size
  }

  /** The verdict on `value` as version of entry `id` (all but its age against the marks). Never rejects. */
  verify(id: string, value: unknown): Promise<Verdict> {
    this.#stats.asked++
    return new Promise((resolve) => {
      if (this.#queue.length === 0) queueMicrotask(() => this.#run())
      this.#queue.push({ id, value, resolve })
    })
  }

  #run(): void {
    const batch = this.#queue
    this.#queue = []
    this.#stats.batches++
    const now = this.#clock()
    for (const { id, value, resolve } of batch) {
      const checked = checkVersion(id, value, this.room, now)
      if ('refusal' in checked) resolve(checked)
      else this.#signature(checked, resolve)
    }
  }

  #signature(signed: SignedPayload, resolve: (verdict: Verdict) => void): void {
    const { version, payload } = signed
    const text = payload.text
    if (this.#verified.get(version.sig) === text) {
      this.#stats.cacheHits++
      // Kept as the newest: what is seen again stays.
      this.#verified.delete(version.sig)
      this.#verified.set(version.sig, text)
      resolve({ ok: true, version })
      return
    }
    this.#stats.checked++
    this.#check(version.author, version.publicKey, version.sig, payload.bytes).then(
      (good) => {
        if (!good) return resolve(signed.refuse('bad-signature'))
        this.#keep(version.sig, text)
        resolve({ ok: true, version })
      },
      () => resolve(signed.refuse('bad-signature')),
    )
  }

  #keep(sig: string, text: string): void {
    const known = this.#verified.get(sig)
    if (known !== undefined) {
      this.#verified.delete(sig)
      this.#cachedChars -= known.length
    }
    if (text.length > this.#maxCachedChars) return
    this.#verified.set(sig, text)
    this.#cachedChars += text.length
    for (const [oldSig, oldText] of this.#verified) {
      if (this.#verified.size <= this.#maxCached && this.#cachedChars <= this.#maxCachedChars) break
      this.#verified.delete(oldSig)
      this.#cachedChars -= oldText.length
    }
  }
}

import { verifySigned } from '../shared/sign'
import { syncVerifier, type SyncVerifier } from '../shared/sync-verify'
import { checkVersion, type SignedPayload, type Verdict } from './entry'

/** An asynchronous signature check, in place of the synchronous one (tests slow it down). */
export type SignatureCheck = (author: string, publicKey: string, sig: string, payload: Uint8Array<ArrayBuffer>) => Promise<boolean>

export interface VerifierOptions {
  clock?: () => number
  /** Signatures whose verdict is kept (the oldest go first). */
  maxCached?: number
  /** Characters of signed payload the kept verdicts may hold in all. */
  maxCachedChars?: number
  check?: SignatureCheck
  /** The synchronous check (libsodium's by default): how it is loaded. */
  loadSync?: () => Promise<SyncVerifier>
  /** Milliseconds of synchronous checks in one go before the verifier yields to the event loop. */
  sliceMs?: number
  /**
   * Loads the synchronous check right after the verifier is made (true unless said), not when
   * the first version arrives: otherwise the first entry a peer sends waits for the module to
   * load and compile, in every tab.
   */
  warm?: boolean
}

export interface VerifierStats {
  /** Versions asked about. */
  asked: number
  /** Signature checks run (the rest: refused by the cheap checks, or found in the cache). */
  checked: number
  cacheHits: number
  /** Batches run: one per task in which versions arrived. */
  batches: number
  /** Times the synchronous checks stopped to let the event loop run (a batch longer than a slice). */
  yields: number
}

interface Asked {
  id: string
  value: unknown
  resolve: (verdict: Verdict) => void
}

interface ToCheck {
  signed: SignedPayload
  resolve: (verdict: Verdict) => void
}

const defaultMaxCached = 4_096
const defaultMaxCachedChars = 4 * 1024 * 1024
/** About a quarter of a 60 Hz frame: a flood of forgeries cannot freeze the page. */
const defaultSliceMs = 4

/**
 * Verifies the versions of one room's memory map in batches: what arrives within one task (one
 * peer message, one sync of the whole map) is checked together once that task's synchronous work
 * is done: the cheap checks (shape, size, room, author, clock) first, then the signatures, one
 * after another and synchronously (libsodium in WebAssembly, shared/sync-verify.ts), each
 * version's verdict told as soon as its own check ends. WebCrypto's verify is as fast but answers
 * through its own thread and the event loop, which on a busy tab cost more than the check: a
 * version written in one tab is shown in the next sooner this way. The checks run in slices of a
 * few milliseconds with the event loop in between, so a flood of forgeries in one batch delays
 * what comes after it but never freezes the page; where WebAssembly cannot run, WebCrypto checks
 * instead (warned once).
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
  readonly #check: SignatureCheck | undefined
  readonly #loadSync: () => Promise<SyncVerifier>
  readonly #sliceMs: number
  /** The synchronous check once loaded; null where it could not load (WebCrypto checks then). */
  #sync: SyncVerifier | null | undefined
  #loading: Promise<void> | undefined
  /** Signatures waiting for the synchronous check, in arrival order; #next is the first not done. */
  #toCheck: ToCheck[] = []
  #next = 0
  #draining = false
  readonly #maxCached: number
  readonly #maxCachedChars: number
  /** sig → the payload text it verified, oldest first. */
  readonly #verified = new Map<string, string>()
  #cachedChars = 0
  #queue: Asked[] = []
  readonly #stats: VerifierStats = { asked: 0, checked: 0, cacheHits: 0, batches: 0, yields: 0 }

  constructor(
    /** The room id every version must name. */
    readonly room: string,
    options: VerifierOptions = {},
  ) {
    this.#clock = options.clock ?? Date.now
    this.#check = options.check
    this.#loadSync = options.loadSync ?? syncVerifier
    this.#sliceMs = options.sliceMs ?? defaultSliceMs
    this.#maxCached = options.maxCached ?? defaultMaxCached
    this.#maxCachedChars = options.maxCachedChars ?? defaultMaxCachedChars
    if (this.#check === undefined && options.warm !== false) setTimeout(() => void this.#load(), 0)
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
    if (this.#check) {
      this.#checkAsync(this.#check, signed, resolve)
      return
    }
    this.#toCheck.push({ signed, resolve })
    this.#drain()
  }

  /** Runs the waiting synchronous checks for one slice, then again after the event loop has run. */
  #drain(): void {
    if (this.#draining) return
    if (this.#sync === undefined) {
      void this.#load().then(() => this.#drain())
      return
    }
    const started = performance.now()
    while (this.#next < this.#toCheck.length) {
      const { signed, resolve } = this.#toCheck[this.#next] as ToCheck
      const { version, payload } = signed
      if (this.#sync === null) this.#checkAsync(verifySigned, signed, resolve)
      else {
        const good = this.#sync.verifySigned(version.author, version.publicKey, version.sig, payload.bytes)
        if (good === null) {
          // A key not seen before: its node id first (once per key), then on in order.
          this.#draining = true
          void this.#sync.learnKey(version.publicKey).then(() => {
            this.#draining = false
            this.#drain()
          })
          return
        }
        this.#verdict(signed, resolve, good)
      }
      this.#next++
      if (this.#next < this.#toCheck.length && performance.now() - started >= this.#sliceMs) {
        this.#stats.yields++
        this.#draining = true
        setTimeout(() => {
          this.#draining = false
          this.#drain()
        }, 0)
        return
      }
    }
    this.#toCheck = []
    this.#next = 0
  }

  /** Loads the synchronous check once; where it cannot load, WebCrypto checks instead (warned once). Never rejects. */
  #load(): Promise<void> {
    this.#loading ??= this.#loadSync().then(
      (sync) => void (this.#sync = sync),
      (error: unknown) => {
        console.warn('memory: the WebAssembly signature check did not load, WebCrypto checks instead:', error)
        this.#sync = null
      },
    )
    return this.#loading
  }

  #checkAsync(check: SignatureCheck, signed: SignedPayload, resolve: (verdict: Verdict) => void): void {
    const { version, payload } = signed
    check(version.author, version.publicKey, version.sig, payload.bytes).then(
      (good) => this.#verdict(signed, resolve, good),
      () => resolve(signed.refuse('bad-signature')),
    )
  }

  #verdict(signed: SignedPayload, resolve: (verdict: Verdict) => void, good: boolean): void {
    if (!good) return resolve(signed.refuse('bad-signature'))
    this.#keep(signed.version.sig, signed.payload.text)
    resolve({ ok: true, version: signed.version })
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

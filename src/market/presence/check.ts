import type { SignedPresence } from '../../shared/protocol'
import { parseState, type Refusal, type StateCheck } from './peers'
import { verifyPresence } from './sign'

/** Most a signer's clock may differ from the reader's before its states are refused. */
export const maxClockSkewMs = 2 * 60_000
/** Newest verified state per node and client kept for the replay check; oldest go first. */
const maxNewest = 4096

/** A state's verdict and when (the reader's clock) its `at` was first verified: its liveness. */
export interface Verdict {
  check: StateCheck
  seenMs: number
}

interface Newest {
  at: number
  sig: string
  seenMs: number
}

export interface VerifierOptions {
  roomId: string
  clock: () => number
  maxClockSkewMs: number
  /** Whether `state` is still the awareness state of `clientId` (a stale one is not judged). */
  isCurrent: (clientId: number, state: object) => boolean
}

/**
 * Judges peers' awareness states: schema, then clock, then signature (async WebCrypto), then
 * replay; each state object once, so a state is verified once however often peers are listed.
 *
 * Replay is judged per node *and* awareness client: the signature covers the client id, so a
 * state cannot be moved to another client, and tabs of one profile (one key, several clients)
 * each move forward on their own. A state older than the newest verified one of its node and
 * client is refused; the same state again is accepted but does not count as a sign of life,
 * so a replayed last state cannot keep a node that left in the list.
 */
export class PresenceVerifier {
  readonly #verdicts = new WeakMap<object, Verdict | 'pending'>()
  readonly #newest = new Map<string, Newest>()
  #signatureChecks = 0

  constructor(private readonly options: VerifierOptions) {}

  /** The verdict on `state`; 'pending' while it is verified; undefined when never asked. */
  verdictOf(state: object): Verdict | 'pending' | undefined {
    return this.#verdicts.get(state)
  }

  /** Signatures verified so far: each costs an Ed25519 verification. */
  get signatureChecks(): number {
    return this.#signatureChecks
  }

  /** Records a verdict reached elsewhere (a state refused before it is read, over a link's cap). */
  refuse(state: object, reason: Refusal): Verdict {
    const verdict: Verdict = { check: { ok: false, reason, nodeId: null, proto: null }, seenMs: this.options.clock() }
    this.#verdicts.set(state, verdict)
    return verdict
  }

  /**
   * Judges `state` of `clientId` once. Resolves with the verdict, or null when there is nothing
   * new to say: judged already (or being judged), or replaced in the awareness meanwhile.
   * Never rejects.
   */
  async check(clientId: number, state: object): Promise<Verdict | null> {
    if (this.#verdicts.has(state)) return null
    const parsed = parseState(state)
    if (!parsed.ok) return this.#settle(state, parsed)
    const presence = parsed.presence
    const early = this.#judgeTime(clientId, presence)
    if (early) return this.#settle(state, early)
    this.#verdicts.set(state, 'pending')
    this.#signatureChecks++
    const signed = await verifyPresence(this.options.roomId, clientId, presence)
    if (!this.options.isCurrent(clientId, state)) {
      this.#verdicts.delete(state)
      return null
    }
    if (!signed) return this.#settle(state, refused('signature', presence))
    // Judged again: another state of this client may have been verified during the await.
    const late = this.#judgeTime(clientId, presence)
    if (late) return this.#settle(state, late)
    const key = newestKey(presence.nodeId, clientId)
    const newest = this.#newest.get(key)
    if (newest && newest.at === presence.at) return this.#settle(state, { ok: true, presence }, newest.seenMs)
    const seenMs = this.options.clock()
    this.#newest.delete(key)
    this.#newest.set(key, { at: presence.at, sig: presence.sig, seenMs })
    if (this.#newest.size > maxNewest) this.#newest.delete(this.#newest.keys().next().value as string)
    return this.#settle(state, { ok: true, presence }, seenMs)
  }

  /** Forgets newest states too old to matter: anything as old is refused by the clock check. */
  prune(): void {
    const oldestAt = this.options.clock() - this.options.maxClockSkewMs
    for (const [key, newest] of this.#newest) if (newest.at < oldestAt) this.#newest.delete(key)
  }

  #judgeTime(clientId: number, presence: SignedPresence): StateCheck | null {
    if (Math.abs(presence.at - this.options.clock()) > this.options.maxClockSkewMs) return refused('clock', presence)
    const newest = this.#newest.get(newestKey(presence.nodeId, clientId))
    // The same `at` with another signature: a second state for one instant, which an honest
    // signer never makes (its `at` only grows).
    if (newest && (presence.at < newest.at || (presence.at === newest.at && presence.sig !== newest.sig))) return refused('replay', presence)
    return null
  }

  #settle(state: object, check: StateCheck, seenMs = this.options.clock()): Verdict {
    const verdict: Verdict = { check, seenMs }
    this.#verdicts.set(state, verdict)
    return verdict
  }
}

function refused(reason: Refusal, presence: SignedPresence): StateCheck {
  return { ok: false, reason, nodeId: presence.nodeId, proto: presence.proto }
}

function newestKey(nodeId: string, clientId: number): string {
  return `${nodeId}/${clientId}`
}

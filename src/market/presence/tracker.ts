import type { Awareness } from 'y-protocols/awareness'
import { IdentityError } from '../../shared/errors'
import { Emitter, type Unsubscribe } from '../../shared/events'
import type { Presence } from '../../shared/protocol'
import type { Signer } from '../../shared/sign'
import { derivePeers, diffPeers, parseState, type CheckedState, type Peer, type Refusal } from './peers'
import { maxClockSkewMs, PresenceVerifier, type Verdict } from './check'
import { LinkQuota, linkOf, maxStatesPerLink, unattributedLink } from './links'
import { signPresence } from './sign'

export interface PresenceEvents {
  peers: readonly Peer[]
  join: Peer
  leave: Peer
  /** A peer's awareness state was refused (see `Refusal`) and is not used. */
  dropped: { clientId: number; count: number; reason: Refusal }
}

export interface PresenceOptions {
  heartbeatMs: number
  peerTimeoutMs: number
  /** Signs this node's presence: its node id and public key are the ones published. */
  signer: Signer
  /** The room's identity (`roomIdOf`): a state signed for another room is refused. */
  roomId: string
  /** Most awareness states one link may bring (default `maxStatesPerLink`). */
  statesPerLink?: number
  /** Most a signer's clock may differ from this node's (default `maxClockSkewMs`). */
  maxClockSkewMs?: number
  clock?: () => number
  onError?: (error: unknown) => void
}

/**
 * Publishes this node's presence in the room's awareness, signed, with a heartbeat, and keeps
 * the list of peers: only a state that is well formed, signed by the key its node id is the
 * hash of, for this room and awareness client, with a clock near ours, newer than what its node
 * said before, and within its link's cap counts. A peer silent for `peerTimeoutMs` is dropped
 * even if its tab died without saying goodbye.
 */
export class PresenceTracker {
  readonly #events: Emitter<PresenceEvents>
  readonly #clock: () => number
  readonly #links: LinkQuota
  readonly #verifier: PresenceVerifier
  #peers: readonly Peer[] = []
  /** `#peers` without their times, serialized: what tells a real change from a heartbeat. */
  #peersKey = '[]'
  #timer: ReturnType<typeof setInterval> | undefined
  #recomputeTimer: ReturnType<typeof setTimeout> | undefined
  readonly #dropped = new Map<Refusal, number>()
  #droppedCount = 0
  /** Each remote client's last judged state, by client id. */
  #settled = new Map<number, Verdict>()
  #local: Presence
  /** The last `at` signed: it only grows, so no two states of this node share one. */
  #lastAt = 0
  #signing = false
  #resign = false
  readonly #unobserve: () => void

  constructor(
    private readonly awareness: Awareness,
    initial: Presence,
    private readonly options: PresenceOptions,
  ) {
    if (initial.nodeId !== options.signer.nodeId || initial.publicKey !== options.signer.publicKey) throw new IdentityError('the presence names another node than its signer')
    this.#events = new Emitter(options.onError)
    this.#clock = options.clock ?? Date.now
    this.#local = initial
    this.#links = new LinkQuota(options.statesPerLink ?? maxStatesPerLink)
    this.#verifier = new PresenceVerifier({
      roomId: options.roomId,
      clock: this.#clock,
      maxClockSkewMs: options.maxClockSkewMs ?? maxClockSkewMs,
      isCurrent: (clientId, state) => awareness.getStates().get(clientId) === state,
    })
    // Nothing unsigned goes out: the awareness's default `{}` is withdrawn until the first
    // signature is ready (a few milliseconds).
    awareness.setLocalState(null)
    this.#timer = setInterval(() => {
      this.update({ heartbeat: this.#local.heartbeat + 1 })
      this.#verifier.prune()
      this.#recompute()
    }, options.heartbeatMs)
    this.#publish()
    const onUpdate = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void => {
      const link = linkOf(origin)
      for (const clientId of removed) this.#links.release(clientId)
      for (const clientId of [...added, ...updated]) if (clientId !== awareness.clientID) this.#admit(clientId, link)
      this.#recompute()
    }
    // 'update', not 'change': every new state object comes with the link it came over, even one
    // that says the same as the last.
    awareness.on('update', onUpdate)
    this.#unobserve = () => awareness.off('update', onUpdate)
    for (const clientId of awareness.getStates().keys()) if (clientId !== awareness.clientID) this.#admit(clientId, unattributedLink)
  }

  local(): Presence {
    return this.#local
  }

  /** Changes this node's presence; a no-op once stopped, so a goodbye stays a goodbye. */
  update(fields: Partial<Presence>): void {
    if (this.#timer === undefined) return
    this.#local = { ...this.#local, ...fields }
    this.#publish()
  }

  /** The peers: verified ones (`compatible`) and, shown but never used, refused ones. */
  peers(): readonly Peer[] {
    return this.#peers
  }

  get droppedCount(): number {
    return this.#droppedCount
  }

  /** Signatures of peers' states verified so far (each state once, however often it is read). */
  get verificationCount(): number {
    return this.#verifier.signatureChecks
  }

  /** Refused states so far, by reason. */
  droppedByReason(): ReadonlyMap<Refusal, number> {
    return this.#dropped
  }

  on<K extends keyof PresenceEvents>(event: K, listener: (payload: PresenceEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /**
   * Signs and publishes the local presence; one signature at a time, the last fields win, so a
   * burst of updates costs two signatures, not one each.
   */
  #publish(): void {
    if (this.#signing) {
      this.#resign = true
      return
    }
    this.#signing = true
    void this.#signLoop()
  }

  async #signLoop(): Promise<void> {
    try {
      do {
        this.#resign = false
        const at = Math.max(Math.floor(this.#clock()), this.#lastAt + 1)
        this.#lastAt = at
        const state = await signPresence(this.options.signer, this.options.roomId, this.awareness.clientID, this.#local, at)
        if (this.#stopped()) return
        this.awareness.setLocalState(state)
      } while (this.#changedWhileSigning() && !this.#stopped())
    } catch (error) {
      this.options.onError?.(error)
    } finally {
      this.#signing = false
    }
  }

  /** A state came over `link`: within the link's cap it is verified, over it refused unread. */
  #admit(clientId: number, link: string): void {
    const state: unknown = this.awareness.getStates().get(clientId)
    if (state === undefined) return
    if (typeof state !== 'object' || state === null) {
      this.#drop(clientId, 'malformed')
      return
    }
    if (!this.#links.admit(link, clientId)) {
      if (this.#verifier.verdictOf(state) === undefined) this.#verifier.refuse(state, 'cap')
      this.#drop(clientId, 'cap')
      return
    }
    this.#verifier.check(clientId, state).then(
      (verdict) => {
        if (verdict === null || this.#timer === undefined) return
        // y-protocols' default `{}` is a client that says nothing yet (a stock y-webrtc page).
        if (!verdict.check.ok && !isEmpty(state)) this.#drop(clientId, verdict.check.reason)
        this.#recomputeSoon()
      },
      (error: unknown) => this.options.onError?.(error),
    )
  }

  #drop(clientId: number, reason: Refusal): void {
    this.#droppedCount++
    this.#dropped.set(reason, (this.#dropped.get(reason) ?? 0) + 1)
    this.#events.emit('dropped', { clientId, count: this.#droppedCount, reason })
  }

  /** Verifications settle one by one: the list is rebuilt once for those of one turn. */
  #recomputeSoon(): void {
    if (this.#recomputeTimer !== undefined || this.#timer === undefined) return
    this.#recomputeTimer = setTimeout(() => {
      this.#recomputeTimer = undefined
      this.#recompute()
    }, 0)
  }

  #recompute(): void {
    const remote: CheckedState[] = []
    const settled = new Map<number, Verdict>()
    for (const [clientId, value] of this.awareness.getStates()) {
      if (clientId === this.awareness.clientID) continue
      // Typed as an object, but a peer's state is whatever JSON it sent.
      const state: unknown = value
      const judged: Verdict | 'pending' | undefined = typeof state === 'object' && state !== null ? this.#verifier.verdictOf(state) : { check: parseState(state), seenMs: 0 }
      // A state not judged yet: its client stands as its last judged state said (a heartbeat
      // being verified does not make a peer leave and join again), or is not listed yet.
      const verdict = judged === undefined || judged === 'pending' ? this.#settled.get(clientId) : judged
      if (verdict === undefined) continue
      settled.set(clientId, verdict)
      remote.push({ check: verdict.check, lastSeenMs: verdict.seenMs })
    }
    this.#settled = settled
    const next = derivePeers(remote, this.#local.nodeId, this.#clock(), this.options.peerTimeoutMs)
    const { joined, left } = diffPeers(this.#peers, next)
    const nextKey = JSON.stringify(next.map(withoutTime))
    const changed = joined.length > 0 || left.length > 0 || nextKey !== this.#peersKey
    this.#peers = next
    this.#peersKey = nextKey
    for (const peer of joined) this.#events.emit('join', peer)
    for (const peer of left) this.#events.emit('leave', peer)
    if (changed) this.#events.emit('peers', next)
  }

  /** Read through a method: TypeScript keeps `#resign` narrowed to false across the await. */
  #changedWhileSigning(): boolean {
    return this.#resign
  }

  #stopped(): boolean {
    return this.#timer === undefined
  }

  /** Says goodbye so peers drop this node at once instead of after the timeout. */
  stop(): void {
    if (this.#timer === undefined) return
    clearInterval(this.#timer)
    this.#timer = undefined
    clearTimeout(this.#recomputeTimer)
    this.#recomputeTimer = undefined
    this.#unobserve()
    this.awareness.setLocalState(null)
    this.#events.clear()
  }
}

function isEmpty(state: object): boolean {
  return Object.keys(state).length === 0
}

function withoutTime(peer: Peer): unknown {
  return { ...peer, lastSeenMs: 0, presence: peer.presence ? { ...peer.presence, heartbeat: 0, at: 0, sig: '' } : null }
}

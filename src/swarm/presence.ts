import type { Awareness } from 'y-protocols/awareness'
import { Emitter, type Unsubscribe } from '../shared/events'
import type { Presence } from '../shared/protocol'
import { checkState, derivePeers, diffPeers, type Peer, type RemoteState, type StateCheck } from './peers'

export interface PresenceEvents {
  peers: readonly Peer[]
  join: Peer
  leave: Peer
  /** A peer's awareness state failed validation and was dropped. */
  dropped: { clientId: number; count: number }
}

export interface PresenceOptions {
  heartbeatMs: number
  peerTimeoutMs: number
  clock?: () => number
  onError?: (error: unknown) => void
}

/**
 * Publishes this node's presence in the room's awareness with a heartbeat, and keeps the list
 * of live, valid peers: a peer silent for `peerTimeoutMs` is dropped even if its tab died
 * without saying goodbye.
 */
export class PresenceTracker {
  readonly #events: Emitter<PresenceEvents>
  readonly #clock: () => number
  #peers: readonly Peer[] = []
  /** `#peers` without their times, serialized: what tells a real change from a heartbeat. */
  #peersKey = '[]'
  /**
   * Checks of remote states, by state object: a peer's state object is replaced only when that
   * peer sends an update, so each is validated once, not on every recompute (every heartbeat).
   */
  readonly #checks = new WeakMap<object, StateCheck>()
  #timer: ReturnType<typeof setInterval> | undefined
  #droppedCount = 0
  #local: Presence
  readonly #unobserve: () => void

  constructor(
    private readonly awareness: Awareness,
    initial: Presence,
    private readonly options: PresenceOptions,
  ) {
    this.#events = new Emitter(options.onError)
    this.#clock = options.clock ?? Date.now
    this.#local = initial
    awareness.setLocalState(initial)
    const onChange = ({ added, updated }: { added: number[]; updated: number[] }): void => {
      for (const clientId of [...added, ...updated]) {
        if (clientId === awareness.clientID) continue
        if (!this.#check(awareness.getStates().get(clientId)).ok) {
          this.#droppedCount++
          this.#events.emit('dropped', { clientId, count: this.#droppedCount })
        }
      }
      this.#recompute()
    }
    awareness.on('change', onChange)
    this.#unobserve = () => awareness.off('change', onChange)
    this.#timer = setInterval(() => {
      this.update({ heartbeat: this.#local.heartbeat + 1 })
      this.#recompute()
    }, options.heartbeatMs)
  }

  local(): Presence {
    return this.#local
  }

  /** Changes this node's presence; a no-op once stopped, so a goodbye stays a goodbye. */
  update(fields: Partial<Presence>): void {
    if (this.#timer === undefined) return
    this.#local = { ...this.#local, ...fields }
    this.awareness.setLocalState(this.#local)
  }

  peers(): readonly Peer[] {
    return this.#peers
  }

  get droppedCount(): number {
    return this.#droppedCount
  }

  on<K extends keyof PresenceEvents>(event: K, listener: (payload: PresenceEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  #recompute(): void {
    const remote: RemoteState[] = []
    for (const [clientId, state] of this.awareness.getStates()) {
      if (clientId === this.awareness.clientID) continue
      remote.push({ state, lastSeenMs: this.awareness.meta.get(clientId)?.lastUpdated ?? 0 })
    }
    const next = derivePeers(remote, this.#local.nodeId, this.#clock(), this.options.peerTimeoutMs, (state) => this.#check(state))
    const { joined, left } = diffPeers(this.#peers, next)
    const nextKey = JSON.stringify(next.map(withoutTime))
    const changed = joined.length > 0 || left.length > 0 || nextKey !== this.#peersKey
    this.#peers = next
    this.#peersKey = nextKey
    for (const peer of joined) this.#events.emit('join', peer)
    for (const peer of left) this.#events.emit('leave', peer)
    if (changed) this.#events.emit('peers', next)
  }

  #check(state: unknown): StateCheck {
    if (typeof state !== 'object' || state === null) return checkState(state)
    let check = this.#checks.get(state)
    if (!check) {
      check = checkState(state)
      this.#checks.set(state, check)
    }
    return check
  }

  /** Says goodbye so peers drop this node at once instead of after the timeout. */
  stop(): void {
    if (this.#timer === undefined) return
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#unobserve()
    this.awareness.setLocalState(null)
    this.#events.clear()
  }
}

function withoutTime(peer: Peer): unknown {
  return { ...peer, lastSeenMs: 0, presence: peer.presence ? { ...peer.presence, heartbeat: 0 } : null }
}

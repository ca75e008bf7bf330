import { capabilityKeyOf, capableOf } from './estimate'
import type { Spec } from './schema'
import { servesPeers } from './serve'
import type { LivePeer } from './types'

/** Kinds of task counted per list at most: a poster can make up as many models as it likes. */
const maxKeys = 64

/** Whether a peer (as presence shows it) would bid on the task: it can take it and serves peers. */
export function bidsOn(peer: LivePeer, spec: Spec): boolean {
  return capableOf(peer, spec) && servesPeers(peer)
}

/**
 * How many live peers could bid on a task, counted once per list of peers and kind of task
 * (`capabilityKeyOf`), not once per task: in a large room every node places itself in the waves of
 * every task. Lists are told apart by identity (presence hands out a new one when any peer
 * changes). The node's own entry is not counted from the list, which the market refreshes in
 * place (`MarketNode`), but from `self` as the node is now, when the list holds it.
 */
export class CapableCount {
  #peers: readonly LivePeer[] | null = null
  #listsSelf = false
  readonly #others = new Map<string, number>()

  constructor(private readonly selfId: string) {}

  count(peers: readonly LivePeer[], spec: Spec, self: LivePeer): number {
    if (peers !== this.#peers || this.#others.size >= maxKeys) {
      this.#peers = peers
      this.#listsSelf = peers.some((peer) => peer.nodeId === this.selfId)
      this.#others.clear()
    }
    const key = capabilityKeyOf(spec)
    let others = this.#others.get(key)
    if (others === undefined) {
      others = 0
      for (const peer of peers) if (peer.nodeId !== this.selfId && bidsOn(peer, spec)) others++
      this.#others.set(key, others)
    }
    return others + (this.#listsSelf && bidsOn(self, spec) ? 1 : 0)
  }
}

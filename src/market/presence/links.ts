/**
 * Most awareness states one link may bring. y-webrtc links a node to at most 34 others
 * (`maxConns` is 20 plus up to 14 at random) and every link relays all the states its far end
 * hears, so in a fully meshed room one honest link brings about one state per node of the room:
 * up to 34, and about twice that when most people have a second tab open. 64 covers that. A
 * larger room is still seen whole as long as its states arrive spread over several links: a
 * state admitted from one link stays admitted whichever link carries it later. What the cap
 * bounds is what one hostile link can add: 64 states, however many keys it makes.
 */
export const maxStatesPerLink = 64

/**
 * Same-profile tabs over BroadcastChannel: y-webrtc gives their updates its Room as origin.
 * They are one link, capped like the others: a sibling tab relays every state its own links
 * brought, the refused ones too, so what comes over it is no more trusted than they are.
 */
export const tabsLink = 'tabs'
/** States that were in the awareness before this node listened, with no link to tell. */
export const unattributedLink = 'unattributed'

/** The link an awareness update came over, from its origin (see the y-webrtc patch). */
export function linkOf(origin: unknown): string {
  if (typeof origin === 'object' && origin !== null && 'remotePeerId' in origin && typeof origin.remotePeerId === 'string') return `webrtc:${origin.remotePeerId}`
  return tabsLink
}

/**
 * Which link brought which awareness client ids, with a cap per link. A client id is owned by
 * the first link that brought it until its state leaves the awareness.
 */
export class LinkQuota {
  readonly #owner = new Map<number, string>()
  readonly #byLink = new Map<string, Set<number>>()

  constructor(readonly perLink: number = maxStatesPerLink) {}

  /** True when `clientId` is admitted already, or `link` has room and now owns it. */
  admit(link: string, clientId: number): boolean {
    if (this.#owner.has(clientId)) return true
    let owned = this.#byLink.get(link)
    if (!owned) {
      owned = new Set()
      this.#byLink.set(link, owned)
    }
    if (owned.size >= this.perLink) return false
    owned.add(clientId)
    this.#owner.set(clientId, link)
    return true
  }

  /** The client's state left the awareness: its link may bring another. */
  release(clientId: number): void {
    const link = this.#owner.get(clientId)
    if (link === undefined) return
    this.#owner.delete(clientId)
    const owned = this.#byLink.get(link)
    owned?.delete(clientId)
    if (owned?.size === 0) this.#byLink.delete(link)
  }

  countOf(link: string): number {
    return this.#byLink.get(link)?.size ?? 0
  }
}

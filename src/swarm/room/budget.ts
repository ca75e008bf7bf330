import type { ProviderGuard } from 'y-webrtc'

/** What one WebRTC peer may send this node before its messages are dropped unread. */
export interface Budgets {
  /** One message (a Yjs update, a sync step, an awareness update) past this is dropped. */
  messageBytes: number
  /** A peer's messages past this many bytes in a minute (a token bucket a minute deep) are dropped. */
  peerBytesPerMinute: number
}

// An honest peer's biggest message is the sync step that sends a whole doc on connect, and
// Chromium's data channels carry at most 256 KiB per message; a busy peer streaming answers,
// bids and weights writes well under a MiB a minute.
export const defaultBudgets: Budgets = { messageBytes: 1024 * 1024, peerBytesPerMinute: 8 * 1024 * 1024 }

export type DropReason = 'oversized' | 'over-budget' | 'malformed'

export interface Drop {
  reason: DropReason
  /** The y-webrtc peer id of the sender, when the drop is of a peer's message. */
  peer: string | null
  bytes: number
  /** For a malformed message: where it came from, and the name of the error reading it threw ('OperationError': encrypted with another room key). */
  where?: 'peer' | 'signaling' | 'broadcast'
  error?: string
}

export interface Drops {
  oversized: number
  overBudget: number
  malformed: number
  /** Bytes dropped, all reasons together. */
  bytes: number
  /** Drops by y-webrtc peer id (the peers that dropped most, up to 32). */
  byPeer: Record<string, number>
}

const maxBuckets = 1_024
const maxPeersCounted = 32
const minuteMs = 60_000

interface Bucket {
  tokens: number
  at: number
}

/**
 * The guard a room's WebrtcProvider runs on every data-channel message before Yjs reads it: a
 * byte cap per message and a token bucket per remote peer id. Dropped messages are counted and
 * told to `onDrop`; nothing here throws.
 */
export class BudgetGuard implements Required<ProviderGuard> {
  readonly #budgets: Budgets
  readonly #clock: () => number
  readonly #onDrop: (drop: Drop) => void
  readonly #buckets = new Map<string, Bucket>()
  readonly #byPeer = new Map<string, number>()
  readonly #counts = { oversized: 0, overBudget: 0, malformed: 0, bytes: 0 }

  constructor(budgets: Budgets = defaultBudgets, onDrop: (drop: Drop) => void = () => undefined, clock: () => number = () => performance.now()) {
    this.#budgets = budgets
    this.#onDrop = onDrop
    this.#clock = clock
  }

  readonly admit = (remotePeerId: string, message: Uint8Array): boolean => {
    const bytes = message.byteLength
    if (bytes > this.#budgets.messageBytes) return this.#drop({ reason: 'oversized', peer: remotePeerId, bytes })
    const bucket = this.#bucketOf(remotePeerId)
    if (bucket.tokens < bytes) return this.#drop({ reason: 'over-budget', peer: remotePeerId, bytes })
    bucket.tokens -= bytes
    return true
  }

  readonly dropped = (where: 'peer' | 'signaling' | 'broadcast', error: unknown): void => {
    const name = typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string' ? error.name.slice(0, 64) : 'Error'
    this.#drop({ reason: 'malformed', peer: null, bytes: 0, where, error: name })
  }

  drops(): Drops {
    return { ...this.#counts, byPeer: Object.fromEntries(this.#byPeer) }
  }

  #bucketOf(peer: string): Bucket {
    const now = this.#clock()
    const capacity = this.#budgets.peerBytesPerMinute
    let bucket = this.#buckets.get(peer)
    if (bucket) {
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) * capacity) / minuteMs)
      bucket.at = now
      // Most recently heard last: the one evicted is the one silent longest.
      this.#buckets.delete(peer)
    } else {
      bucket = { tokens: capacity, at: now }
      if (this.#buckets.size >= maxBuckets) {
        const oldest = this.#buckets.keys().next().value
        if (oldest !== undefined) this.#buckets.delete(oldest)
      }
    }
    this.#buckets.set(peer, bucket)
    return bucket
  }

  #drop(drop: Drop): false {
    if (drop.reason === 'oversized') this.#counts.oversized++
    else if (drop.reason === 'over-budget') this.#counts.overBudget++
    else this.#counts.malformed++
    this.#counts.bytes += drop.bytes
    if (drop.peer !== null) {
      const peer = drop.peer.slice(0, 64)
      if (this.#byPeer.has(peer) || this.#byPeer.size < maxPeersCounted) this.#byPeer.set(peer, (this.#byPeer.get(peer) ?? 0) + 1)
    }
    try {
      this.#onDrop(drop)
    } catch {
      // A listener's failure is not the sender's: the message stays dropped.
    }
    return false
  }
}

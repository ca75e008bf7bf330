// The guard of the gateway's WebrtcProvider (patches/y-webrtc+10.3.0.patch): a byte cap per
// data-channel message and a byte budget per link, checked before Yjs reads a message, and a
// count by kind of everything dropped, for /healthz. Nothing here throws.
import type { ProviderGuard } from 'y-webrtc'
import { createTokenBucket, type TokenBucket } from '../token-bucket'

/** Why the gateway dropped something a peer or the signaling sent. */
export const gatewayDropKinds = [
  /** A data-channel message y-webrtc or Yjs could not read (truncated, garbage, bad awareness JSON). */
  'peer',
  /** A signaling message that would have thrown: undecryptable, not y-webrtc's shape. */
  'signaling',
  /** A BroadcastChannel message that would have thrown. */
  'broadcast',
  /** A data-channel message over the per-message cap. */
  'oversized',
  /** A data-channel message past its link's byte budget. */
  'flood',
  /** A WebRTC link that did not connect in time (an announce or offer nobody followed up). */
  'stale-link',
  /** A WebRTC link past the cap on links (offers from ever new peer ids). */
  'too-many-links',
] as const

export type GatewayDropKind = (typeof gatewayDropKinds)[number]
export type GatewayDrops = Record<GatewayDropKind, number>

export interface GatewayBudgets {
  /** Chromium's data channels carry at most 256 KiB a message; y-webrtc does not split them. */
  messageBytes: number
  /** A link's bytes per second, after a burst of `burstBytes` (a whole doc on connect). */
  bytesPerS: number
  burstBytes: number
}

export const defaultGatewayBudgets: GatewayBudgets = { messageBytes: 1024 * 1024, bytesPerS: 1024 * 1024, burstBytes: 8 * 1024 * 1024 }

/**
 * y-webrtc's "a tab of this browser joined or left" message: it belongs on the BroadcastChannel
 * only, and over WebRTC it would let a member make the gateway ignore another peer's signaling.
 */
const messageBcPeerId = 4

/** Links with a bucket at most; the oldest is forgotten past it (y-webrtc keeps far fewer). */
const maxBuckets = 1_024

export interface GatewayGuard extends Required<ProviderGuard> {
  /** Counts a drop the gateway decided itself (a stale link). */
  count(kind: GatewayDropKind): void
  drops(): GatewayDrops
  /** Forgets a link's budget (its connection closed). */
  forget(remotePeerId: string): void
}

export function createGatewayGuard(onDrop: (kind: GatewayDropKind, error: unknown) => void, budgets: GatewayBudgets = defaultGatewayBudgets): GatewayGuard {
  const counts = Object.fromEntries(gatewayDropKinds.map((kind) => [kind, 0])) as GatewayDrops
  const buckets = new Map<string, TokenBucket>()
  const count = (kind: GatewayDropKind, error: unknown = null): void => {
    counts[kind] += 1
    try {
      onDrop(kind, error)
    } catch {
      // A logger that throws must not undo the drop.
    }
  }
  const bucketOf = (remotePeerId: string): TokenBucket => {
    let bucket = buckets.get(remotePeerId)
    if (bucket === undefined) {
      if (buckets.size >= maxBuckets) buckets.delete(buckets.keys().next().value ?? '')
      bucket = createTokenBucket({ ratePerS: budgets.bytesPerS, burst: budgets.burstBytes })
      buckets.set(remotePeerId, bucket)
    }
    return bucket
  }
  return {
    admit(remotePeerId, message) {
      const bytes = message.byteLength
      if (bytes > budgets.messageBytes) {
        count('oversized')
        return false
      }
      if (!bucketOf(remotePeerId).take(bytes)) {
        count('flood')
        return false
      }
      if (message[0] === messageBcPeerId) {
        count('peer')
        return false
      }
      return true
    },
    dropped(where, error) {
      count(where, error)
    },
    count,
    drops: () => ({ ...counts }),
    forget(remotePeerId) {
      buckets.delete(remotePeerId)
    },
  }
}

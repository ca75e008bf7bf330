// Watches the room's WebRTC links: every peer connection y-webrtc makes is built by our own
// RTCPeerConnection subclass (simple-peer's `wrtc` option), so its ICE errors are heard from
// the first candidate on, and every few seconds each link's getStats() says how it is linked.
import { iceErrorOf, readSelectedPair, type IceError, type LinkStat } from './link-stats'

/** simple-peer's `wrtc` option: the WebRTC classes it builds peer connections from. */
export interface WrtcClasses {
  RTCPeerConnection: typeof RTCPeerConnection
  RTCSessionDescription: typeof RTCSessionDescription
  RTCIceCandidate: typeof RTCIceCandidate
}

export interface LinkMonitorOptions {
  /** The room's links by y-webrtc peer id, each holding its simple-peer as `peer`. */
  links: () => Iterable<[string, { connected: boolean; peer: unknown }]>
  onStats: (stats: ReadonlyMap<string, LinkStat>) => void
  onIceError: (error: IceError) => void
  /** How often getStats() is read; cheap (one call per link), but not per frame. */
  sampleMs?: number
}

const defaultSampleMs = 3_000

function peerConnectionOf(peer: unknown): RTCPeerConnection | null {
  const pc = typeof peer === 'object' && peer !== null ? (peer as { _pc?: unknown })._pc : undefined
  return typeof RTCPeerConnection !== 'undefined' && pc instanceof RTCPeerConnection ? pc : null
}

export class LinkMonitor {
  readonly wrtc: WrtcClasses
  readonly #options: LinkMonitorOptions
  readonly #timer: ReturnType<typeof setInterval>
  #stats: ReadonlyMap<string, LinkStat> = new Map()
  #sampling = false
  #stopped = false

  constructor(options: LinkMonitorOptions) {
    this.#options = options
    const onIceError = (event: Event): void => {
      try {
        if (!this.#stopped) options.onIceError(iceErrorOf(event))
      } catch (error) {
        console.warn('link monitor:', error)
      }
    }
    this.wrtc = {
      RTCPeerConnection: class WatchedPeerConnection extends RTCPeerConnection {
        constructor(config?: RTCConfiguration) {
          super(config)
          this.addEventListener('icecandidateerror', onIceError)
        }
      },
      RTCSessionDescription,
      RTCIceCandidate,
    }
    this.#timer = setInterval(() => void this.sample(), options.sampleMs ?? defaultSampleMs)
  }

  stats(): ReadonlyMap<string, LinkStat> {
    return this.#stats
  }

  /** Reads every connected link's stats now (a sample already running is not doubled); never rejects. */
  async sample(): Promise<void> {
    if (this.#sampling || this.#stopped) return
    this.#sampling = true
    try {
      const links = [...this.#options.links()].flatMap(([linkId, link]) => {
        const pc = link.connected ? peerConnectionOf(link.peer) : null
        return pc === null ? [] : [{ linkId, pc }]
      })
      const read = await Promise.allSettled(links.map(async ({ linkId, pc }) => readSelectedPair((await pc.getStats()).values(), linkId)))
      const next = new Map<string, LinkStat>()
      for (const outcome of read) if (outcome.status === 'fulfilled' && outcome.value !== null) next.set(outcome.value.linkId, outcome.value)
      // stop() may have come while getStats() ran.
      if (this.stopped() || sameStats(this.#stats, next)) return
      this.#stats = next
      this.#options.onStats(next)
    } catch (error) {
      console.warn('link monitor:', error)
    } finally {
      this.#sampling = false
    }
  }

  stopped(): boolean {
    return this.#stopped
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#timer)
  }
}

function sameStats(a: ReadonlyMap<string, LinkStat>, b: ReadonlyMap<string, LinkStat>): boolean {
  if (a.size !== b.size) return false
  for (const [linkId, stat] of b) {
    const old = a.get(linkId)
    if (old === undefined || old.relayed !== stat.relayed || old.rttMs !== stat.rttMs || old.localType !== stat.localType || old.remoteType !== stat.remoteType) return false
  }
  return true
}

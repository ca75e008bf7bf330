// The relay as one peer of a room: a Y.Doc in memory shared with y-webrtc through the signaling
// server, a presence that says "no engine", and a task market where the relay only posts.
import os from 'node:os'
import { WebrtcProvider } from 'y-webrtc'
import * as Y from 'yjs'
import { PROTOCOL_VERSION, type Presence } from '../../shared/protocol'
import type { Signer } from '../../shared/sign'
import { MarketNode, type LivePeer } from '../../swarm/market'
import { PresenceTracker } from '../../swarm/presence'
import { livePeersOf } from '../../swarm/swarm-engine'
import { AbortError } from '../../shared/errors'
import type { Logger } from '../log'
import type { RoomSpec } from './config'
import type { Wrtc } from './node-webrtc'

/** Browsers may drop a peer after 1 s of silence (their minimum); most wait 15 s. */
const heartbeatMs = 2_000
const peerTimeoutMs = 15_000

export interface RoomPeerOptions {
  spec: RoomSpec
  signer: Signer
  signalingUrl: string
  wrtc: Wrtc
  version: string
  log: Logger
}

/** Whether a live peer has a model loaded and may bid (as the market's `capableOf` reads it). */
export function hasReadyModel(peer: LivePeer): boolean {
  const engine = peer.engine
  return engine !== null && (engine.kind === 'webgpu' || engine.kind === 'wasm') && (engine.state === 'ready' || engine.state === 'busy')
}

function relayPresence(signer: Signer, version: string): Presence {
  return {
    proto: PROTOCOL_VERSION,
    nodeId: signer.nodeId,
    publicKey: signer.publicKey,
    caps: { webgpu: false, shaderF16: false, cores: Math.min(4096, os.availableParallelism()), userAgent: `edgeswarm-relay/${version}`.slice(0, 128) },
    status: 'online',
    visible: true,
    heartbeat: 0,
    linkId: '',
    links: [],
    joinedAt: Date.now(),
    engine: { kind: 'none', modelId: '', state: 'none', prefillTokensPerS: 0, decodeTokensPerS: 0 },
    queue: 0,
  }
}

export class RoomPeer {
  readonly name: string
  readonly market: MarketNode
  readonly #doc = new Y.Doc()
  readonly #provider: WebrtcProvider
  readonly #presence: PresenceTracker
  readonly #log: Logger
  readonly #cleanups: (() => void)[] = []

  constructor(options: RoomPeerOptions) {
    const { spec, signer, log } = options
    this.name = spec.name
    this.#log = log
    this.#provider = new WebrtcProvider(spec.name, this.#doc, {
      signaling: [options.signalingUrl],
      ...(spec.key === null ? {} : { password: spec.key }),
      // No STUN: the relay is reached on the addresses it has; a STUN server may be unreachable.
      peerOpts: { wrtc: options.wrtc, config: { iceServers: [] } },
    })
    this.#presence = new PresenceTracker(this.#provider.awareness, relayPresence(signer, options.version), {
      heartbeatMs,
      peerTimeoutMs,
      onError: (error) => log.warn('swarm presence listener failed', { room: spec.name, error }),
    })
    const onPeers = ({ webrtcPeers }: { webrtcPeers: string[] }): void => {
      this.#presence.update({ linkId: this.#provider.room?.peerId ?? '', links: [...webrtcPeers].sort().slice(0, 256) })
    }
    this.#provider.on('peers', onPeers)
    this.#cleanups.push(
      () => this.#provider.off('peers', onPeers),
      this.#presence.on('join', (peer) => log.info('swarm peer joined', { room: spec.name, nodeId: peer.nodeId })),
      this.#presence.on('leave', (peer) => log.info('swarm peer left', { room: spec.name, nodeId: peer.nodeId })),
      this.#presence.on('dropped', ({ count }) => log.debug('swarm peer state dropped', { room: spec.name, count })),
    )
    this.market = new MarketNode({
      doc: this.#doc,
      signer,
      engine: null,
      livePeers: () => this.livePeers(),
      onError: (error) => log.warn('swarm market error', { room: spec.name, error }),
    })
  }

  livePeers(): LivePeer[] {
    return livePeersOf(this.#presence.peers())
  }

  /** Peers with a model ready to answer. */
  readyPeers(): LivePeer[] {
    return this.livePeers().filter(hasReadyModel)
  }

  /** Resolves true once a peer has a ready model, false after `waitMs`; rejects on abort. */
  waitForReadyPeer(waitMs: number, signal: AbortSignal): Promise<boolean> {
    if (this.readyPeers().length > 0) return Promise.resolve(true)
    return new Promise((resolve, reject) => {
      const done = (outcome: boolean | Error): void => {
        clearTimeout(timer)
        unsubscribe()
        signal.removeEventListener('abort', onAbort)
        if (outcome instanceof Error) reject(outcome)
        else resolve(outcome)
      }
      const onAbort = (): void => done(new AbortError('the client went away'))
      const timer = setTimeout(() => done(false), waitMs)
      const unsubscribe = this.#presence.on('peers', () => {
        if (this.readyPeers().length > 0) done(true)
      })
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** What /healthz shows of the room. */
  summary(): { room: string; peers: number; ready: number; links: number } {
    return { room: this.name, peers: this.#presence.peers().length, ready: this.readyPeers().length, links: this.#provider.room?.webrtcConns.size ?? 0 }
  }

  /** Says goodbye, closes the WebRTC links and the signaling socket, stops every timer. */
  close(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup()
    this.market.destroy()
    this.#presence.stop()
    // destroy() alone leaves y-webrtc's signaling socket open; disconnect() closes it.
    this.#provider.disconnect()
    this.#provider.destroy()
    this.#doc.destroy()
    this.#log.debug('swarm room closed', { room: this.name })
  }
}

// The relay as one peer of a room: a Y.Doc in memory shared with y-webrtc through the signaling
// server, a presence that says "no engine", a task market where the relay only posts, and the
// room's signed memory, which the relay reads and writes as its own identity (the MCP tools).
import os from 'node:os'
import { WebrtcProvider, type WebrtcConn } from 'y-webrtc'
import * as Y from 'yjs'
import { PROTOCOL_VERSION, type Presence } from '../../shared/protocol'
import type { Signer } from '../../shared/sign'
import { MarketNode, servesPeers, type LivePeer } from '../../market'
import { MemoryStore } from '../../memory/store'
import { PresenceTracker } from '../../market/presence/tracker'
import { keptLivePeers } from '../../market/presence/live-peers'
import { AbortError } from '../../shared/errors'
import type { Logger } from '../log'
import type { ReplicaSummary, RoomReplica } from '../replica/room-replica'
import type { NetConfigSettings } from '../net/config'
import { issueIce } from '../net/turn'
import { refreshDelayMs } from '../../shared/net-config'
import type { RoomSpec } from './config'
import { createGatewayGuard, type GatewayDrops, type GatewayGuard } from './guard'
import type { Wrtc } from './node-webrtc'

/** Browsers may drop a peer after 1 s of silence (their minimum); most wait 15 s. */
const heartbeatMs = 2_000
const peerTimeoutMs = 15_000
/** How often every link is looked at: one y-webrtc made without saying so (an offer whose signal threw) is found too. */
const linkSweepMs = 5_000
/** y-webrtc's cap on links it opens on an announce; the gateway answers many browsers. */
const maxAnnouncedLinks = 32
/**
 * The cap on links in all: y-webrtc opens one for every offer addressed to it, announce or
 * not, and each is a native RTCPeerConnection; past this a new one is closed at once.
 */
const maxLinks = 64

/** What /healthz shows of a room. */
export interface RoomSummary {
  room: string
  peers: number
  ready: number
  links: number
  dropped: GatewayDrops
  /** The room's doc on disk; null: kept in memory only. */
  replica: ReplicaSummary | null
}

/**
 * Why a task the relay had posted ends when the relay finds it again on restart: the HTTP
 * client that asked for it went with the old process, so nobody would read the answer.
 */
export const orphanedTaskReason = 'relay_restarted: the relay restarted and the client that asked for this task is gone'

export interface RoomPeerOptions {
  spec: RoomSpec
  /** The room's identity (`roomIdOf(spec.name, spec.key)`), bound into every signed payload. */
  roomId: string
  signer: Signer
  signalingUrl: string
  /**
   * A link that has not connected this long is closed: an announce or offer that nobody follows
   * up would otherwise hold a native peer connection, and one of y-webrtc's few slots, for good.
   */
  linkTimeoutMs: number
  wrtc: Wrtc
  version: string
  log: Logger
  /** The room's doc on disk, loaded into the doc before the peer joins; null: in memory only. */
  replica?: RoomReplica | null
  /**
   * The ICE servers the relay gives its pages, with TURN credentials of the relay's own, renewed
   * before they expire: a page with `ice=relay` is reached only through TURN. Absent: none.
   */
  net?: NetConfigSettings
}

/** Whether a live peer has a model loaded and may bid (as the market's `capableOf` reads it): not one that serves nobody. */
export function hasReadyModel(peer: LivePeer): boolean {
  const engine = peer.engine
  return engine !== null && (engine.kind === 'webgpu' || engine.kind === 'wasm') && (engine.state === 'ready' || engine.state === 'busy') && servesPeers(peer)
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
    // The gateway only posts (it has no model): it consumes, and says so.
    serve: 'off',
  }
}

export class RoomPeer {
  readonly name: string
  readonly market: MarketNode
  /** The room's shared memory, read and written (signed) as the relay's own (MCP's memory tools). */
  readonly memory: MemoryStore
  readonly #doc = new Y.Doc()
  readonly #provider: WebrtcProvider
  readonly #presence: PresenceTracker
  /** The presence's verified peers as the market reads them, kept while the presence is unchanged. */
  readonly #livePeers = keptLivePeers(() => this.#presence.peers())
  readonly #log: Logger
  readonly #guard: GatewayGuard
  readonly #linkTimeoutMs: number
  readonly #linkTimers = new Map<string, ReturnType<typeof setTimeout>>()
  readonly #cleanups: (() => void)[] = []
  readonly #replica: RoomReplica | null
  #iceTimer: ReturnType<typeof setTimeout> | undefined

  constructor(options: RoomPeerOptions) {
    const { spec, signer, log } = options
    this.name = spec.name
    // Before the provider exists: the first sync with each peer already offers what was saved.
    this.#replica = options.replica ?? null
    this.#replica?.attach(this.#doc)
    this.#log = log
    this.#linkTimeoutMs = options.linkTimeoutMs
    this.#guard = createGatewayGuard((kind, error) => {
      const count = this.#guard.drops()[kind]
      // Once, then every 100th: a flood must not become a flood of log lines.
      if (count % 100 === 1) log.info('swarm: dropped what a peer or the signaling sent', { room: spec.name, kind, count, error })
    })
    this.#provider = new WebrtcProvider(spec.name, this.#doc, {
      signaling: [options.signalingUrl],
      ...(spec.key === null ? {} : { password: spec.key }),
      peerOpts: { wrtc: options.wrtc, config: { iceServers: [] } },
      maxConns: maxAnnouncedLinks,
      guard: this.#guard,
    })
    if (options.net !== undefined) this.#useIce(options.net, signer.nodeId)
    this.#cleanups.push(() => clearTimeout(this.#iceTimer))
    this.#presence = new PresenceTracker(this.#provider.awareness, relayPresence(signer, options.version), {
      heartbeatMs,
      peerTimeoutMs,
      signer,
      roomId: options.roomId,
      onError: (error) => log.warn('swarm presence listener failed', { room: spec.name, error }),
    })
    const onPeers = ({ added, removed, webrtcPeers }: { added: string[]; removed: string[]; webrtcPeers: string[] }): void => {
      for (const remotePeerId of added) this.#watchLink(remotePeerId)
      for (const remotePeerId of removed) this.#forgetLink(remotePeerId)
      this.#presence.update({ linkId: this.#provider.room?.peerId ?? '', links: [...webrtcPeers].sort().slice(0, 256) })
    }
    this.#provider.on('peers', onPeers)
    const sweep = setInterval(() => {
      for (const remotePeerId of [...(this.#provider.room?.webrtcConns.keys() ?? [])]) this.#watchLink(remotePeerId)
    }, linkSweepMs)
    sweep.unref()
    this.#cleanups.push(
      () => clearInterval(sweep),
      () => this.#provider.off('peers', onPeers),
      () => {
        for (const timer of this.#linkTimers.values()) clearTimeout(timer)
        this.#linkTimers.clear()
      },
      this.#presence.on('join', (peer) => log.info('swarm peer joined', { room: spec.name, nodeId: peer.nodeId })),
      this.#presence.on('leave', (peer) => log.info('swarm peer left', { room: spec.name, nodeId: peer.nodeId })),
      this.#presence.on('dropped', ({ count }) => log.debug('swarm peer state dropped', { room: spec.name, count })),
    )
    this.memory = new MemoryStore(this.#doc, signer, options.roomId, { onError: (error) => log.warn('swarm memory error', { room: spec.name, error }) })
    this.market = new MarketNode({
      doc: this.#doc,
      signer,
      roomId: options.roomId,
      engine: null,
      livePeers: () => this.livePeers(),
      cancelResumed: orphanedTaskReason,
      onError: (error) => log.warn('swarm market error', { room: spec.name, error }),
    })
  }

  /** Puts fresh ICE servers into the options y-webrtc gives each new link, and again before they expire. */
  #useIce(net: NetConfigSettings, nodeId: string): void {
    const issued = issueIce(net.iceServers, net.turn, nodeId, Date.now())
    const peerOpts = this.#provider.peerOpts as { wrtc: Wrtc; config: { iceServers: unknown[] } }
    this.#provider.peerOpts = { ...peerOpts, config: { ...peerOpts.config, iceServers: issued.iceServers } }
    const delayMs = refreshDelayMs(issued.expiresAt, Date.now())
    if (delayMs === null) return
    this.#iceTimer = setTimeout(() => this.#useIce(net, nodeId), delayMs)
    this.#iceTimer.unref()
  }

  /** Closes the link to `remotePeerId` past the cap, or if it has not connected within the timeout. */
  #watchLink(remotePeerId: string): void {
    const conns = this.#provider.room?.webrtcConns
    const conn = conns?.get(remotePeerId)
    if (conns === undefined || conn === undefined || conn.connected || this.#linkTimers.has(remotePeerId)) return
    if (conns.size > maxLinks) {
      this.#guard.count('too-many-links')
      this.#closeLink(conn)
      return
    }
    const timer = setTimeout(() => {
      this.#linkTimers.delete(remotePeerId)
      if (this.#provider.room?.webrtcConns.get(remotePeerId) !== conn || conn.connected) return
      this.#guard.count('stale-link')
      this.#closeLink(conn)
    }, this.#linkTimeoutMs)
    timer.unref()
    this.#linkTimers.set(remotePeerId, timer)
  }

  #closeLink(conn: WebrtcConn): void {
    try {
      conn.destroy()
    } catch (error) {
      this.#log.debug('swarm: closing a link failed', { room: this.name, error })
    }
  }

  #forgetLink(remotePeerId: string): void {
    const timer = this.#linkTimers.get(remotePeerId)
    if (timer !== undefined) clearTimeout(timer)
    this.#linkTimers.delete(remotePeerId)
    this.#guard.forget(remotePeerId)
  }

  livePeers(): LivePeer[] {
    return this.#livePeers()
  }

  /** Peers with a model ready to answer. */
  readyPeers(): LivePeer[] {
    return this.livePeers().filter(hasReadyModel)
  }

  /** Resolves true once a peer is ready (has a ready model, or what `isReady` asks), false after `waitMs`; rejects on abort. */
  waitForReadyPeer(waitMs: number, signal: AbortSignal, isReady: (peer: LivePeer) => boolean = hasReadyModel): Promise<boolean> {
    const ready = (): boolean => this.livePeers().some(isReady)
    if (ready()) return Promise.resolve(true)
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
        if (ready()) done(true)
      })
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** What /healthz shows of the room. */
  summary(): RoomSummary {
    return {
      room: this.name,
      peers: this.#presence.peers().length,
      ready: this.readyPeers().length,
      links: this.#provider.room?.webrtcConns.size ?? 0,
      dropped: this.#guard.drops(),
      replica: this.#replica?.summary() ?? null,
    }
  }

  /** Says goodbye, closes the WebRTC links and the signaling socket, stops every timer. */
  close(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup()
    this.market.destroy()
    this.memory.stop()
    this.#presence.stop()
    // destroy() alone leaves y-webrtc's signaling socket open; disconnect() closes it.
    this.#provider.disconnect()
    this.#provider.destroy()
    this.#doc.destroy()
    this.#log.debug('swarm room closed', { room: this.name })
  }
}

import { openLocalDb } from '../memory/local-db'
import { MemoryStore, type MemoryItem } from '../memory/store'
import { Emitter, type Unsubscribe } from '../shared/events'
import { PROTOCOL_VERSION, type Capabilities } from '../shared/protocol'
import { roomIdOf } from '../shared/room-id'
import type { Signer } from '../shared/sign'
import { detectCapabilities } from './room/capabilities'
import { DocSize } from './room/doc-size'
import { loadIdentity } from './room/identity'
import type { Peer } from '../market/presence/peers'
import { PresenceTracker } from '../market/presence/tracker'
import { WebrtcRoom, type Links, type OpenRoom, type Room } from './room/room'
import type { RoomConfig } from './room/room-url'
import type { SignalingState } from './room/signaling-client'
import { loadNetConfig, toRtcIceServers, type LoadedNetConfig } from './room/net-config'
import { describeIceError, type LinkStat } from './room/link-stats'
import { keepNetFresh } from './room/net-refresh'
import { probeTurn } from './room/turn-probe'

/** What a page with `ice=relay` says when its relay has no TURN service to link through. */
export const noTurnProblem = 'ice=relay needs a TURN server; this relay offers none (RELAY_TURN_URLS)'

export interface NodeEvents {
  peers: readonly Peer[]
  join: Peer
  leave: Peer
  memory: readonly MemoryItem[]
  links: Links
  /** Each link's measured kind (direct or through TURN) and round-trip time, when they changed. */
  'link-stats': ReadonlyMap<string, LinkStat>
  /** Why links cannot be made as asked (no TURN, TURN refusing its credentials): told once each. */
  'net-problem': string
  signaling: SignalingState
  /** The room doc's encoded size changed (measured at most every few seconds), in bytes. */
  docSize: number
  /** A background failure: shown to the user, never thrown. */
  error: unknown
}

/**
 * One browser node: this profile's identity, in one room, with its presence, peers and the
 * room's shared memory. The UI and `globalThis.edgeswarm` are built on this and nothing else.
 */
export class SwarmNode {
  readonly #events = new Emitter<NodeEvents>((error) => console.error(error))
  readonly #cleanups: (() => void)[] = []
  readonly #netProblems = new Set<string>()
  #net: LoadedNetConfig
  /** The room doc's encoded size, throttled: what a newcomer downloads, and what expiry keeps bounded. */
  readonly docSize: DocSize

  private constructor(
    readonly config: RoomConfig,
    net: LoadedNetConfig,
    /** The room's identity (name and key), bound into every signed payload. */
    readonly roomId: string,
    readonly signer: Signer,
    readonly capabilities: Capabilities,
    readonly room: Room,
    readonly presence: PresenceTracker,
    readonly memory: MemoryStore,
  ) {
    this.#net = net
    const forward =
      <K extends keyof NodeEvents>(event: K) =>
      (payload: NodeEvents[K]) =>
        this.#events.emit(event, payload)
    this.docSize = new DocSize(room.doc, forward('docSize'))
    this.#cleanups.push(
      () => this.docSize.stop(),
      presence.on('peers', forward('peers')),
      presence.on('join', forward('join')),
      presence.on('leave', forward('leave')),
      memory.on('change', forward('memory')),
      room.on('link-stats', forward('link-stats')),
      room.on('ice-error', (error) => {
        const problem = describeIceError(error)
        if (problem !== null) this.#tellNetProblem(problem)
      }),
      room.on('signaling', forward('signaling')),
      room.on('links', (links) => {
        presence.update({ linkId: links.linkId ?? '', links: links.webrtc })
        this.#events.emit('links', links)
      }),
    )
    const onVisibility = (): void => presence.update({ visible: document.visibilityState === 'visible' })
    document.addEventListener('visibilitychange', onVisibility)
    const onPageHide = (): void => presence.stop()
    window.addEventListener('pagehide', onPageHide)
    this.#cleanups.push(
      () => document.removeEventListener('visibilitychange', onVisibility),
      () => window.removeEventListener('pagehide', onPageHide),
    )
  }

  /** Joins the room of `config`: over y-webrtc with the doc in IndexedDB unless `openRoom` says otherwise. */
  static async start(config: RoomConfig, openRoom: OpenRoom = (options) => WebrtcRoom.open(options)): Promise<SwarmNode> {
    const db = await openLocalDb()
    const [signer, capabilities, roomId] = await Promise.all([loadIdentity(db), detectCapabilities(), roomIdOf(config.room, config.key)])
    db.close()
    const net = await loadNetConfig(location.origin, signer.nodeId, config.signalingUrl)
    const room = await openRoom({
      room: config.room,
      key: config.key,
      signalingUrls: net.config.signalingUrls,
      iceServers: toRtcIceServers(net.config.iceServers),
      iceTransportPolicy: config.ice,
    })
    const links = room.links()
    const presence = new PresenceTracker(
      room.awareness,
      {
        proto: PROTOCOL_VERSION,
        nodeId: signer.nodeId,
        publicKey: signer.publicKey,
        caps: capabilities,
        status: 'online',
        visible: document.visibilityState === 'visible',
        heartbeat: 0,
        linkId: links.linkId ?? '',
        links: links.webrtc,
        joinedAt: Date.now(),
        // Until the app reads the user's setting: a node claims to serve nobody before it knows.
        serve: 'off',
      },
      { heartbeatMs: config.heartbeatMs, peerTimeoutMs: config.peerTimeoutMs, signer, roomId },
    )
    const node = new SwarmNode(config, net, roomId, signer, capabilities, room, presence, new MemoryStore(room.doc, signer, roomId, { marks: room.marks }))
    presence.on('dropped', ({ count }) => node.#events.emit('error', new Error(`dropped an invalid peer state (${count} so far)`)))
    node.#watchNet(() => loadNetConfig(location.origin, signer.nodeId, config.signalingUrl))
    return node
  }

  /** The network settings the relay gave last (or the fallback, and why). */
  get net(): LoadedNetConfig {
    return this.#net
  }

  /** Every network problem told so far (the UI shows those it missed). */
  netProblems(): string[] {
    return [...this.#netProblems]
  }

  #tellNetProblem(problem: string): void {
    if (this.#netProblems.has(problem)) return
    this.#netProblems.add(problem)
    this.#events.emit('net-problem', problem)
  }

  /** Renews TURN credentials before they expire; with `ice=relay`, finds out at once whether TURN works. */
  #watchNet(reload: () => Promise<LoadedNetConfig>): void {
    this.#cleanups.push(
      keepNetFresh({
        initial: this.#net.config,
        reload,
        apply: (config) => {
          this.#net = { config, source: 'relay', problem: null }
          this.room.setIceServers(toRtcIceServers(config.iceServers))
        },
        onProblem: (problem) => this.#events.emit('error', new Error(problem)),
      }),
    )
    if (this.config.ice !== 'relay') return
    if (!this.#net.config.turn) {
      this.#tellNetProblem(this.#net.problem === null ? noTurnProblem : `${noTurnProblem}; ${this.#net.problem}`)
      return
    }
    void probeTurn(toRtcIceServers(this.#net.config.iceServers)).then((probe) => {
      if (probe.outcome === 'relayed') return
      const refusedFirst = [...probe.errors].sort((a, b) => Number(b.errorCode === 401) - Number(a.errorCode === 401))
      const described = refusedFirst.map(describeIceError).filter((problem) => problem !== null)
      this.#tellNetProblem(described[0] ?? 'ice=relay: the TURN server gave no relay candidate within 5 s, so no peer can be reached; check RELAY_TURN_URLS and that it is reachable from this browser')
    })
  }

  /** The last measured stats of each link, by the y-webrtc id of its peer (a presence's `linkId`). */
  linkStats(): ReadonlyMap<string, LinkStat> {
    return this.room.linkStats()
  }

  get nodeId(): string {
    return this.signer.nodeId
  }

  peers(): readonly Peer[] {
    return this.presence.peers()
  }

  on<K extends keyof NodeEvents>(event: K, listener: (payload: NodeEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  async stop(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0)) cleanup()
    this.presence.stop()
    await this.room.destroy()
    this.#events.clear()
  }
}

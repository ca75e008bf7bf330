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
import { loadNetConfig, toRtcIceServers, type LoadedNetConfig } from './room/net-config'

export interface NodeEvents {
  peers: readonly Peer[]
  join: Peer
  leave: Peer
  memory: readonly MemoryItem[]
  links: Links
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
  /** The room doc's encoded size, throttled: what a newcomer downloads, and what expiry keeps bounded. */
  readonly docSize: DocSize

  private constructor(
    readonly config: RoomConfig,
    /** The network settings the relay gave (or the fallback, and why). */
    readonly net: LoadedNetConfig,
    /** The room's identity (name and key), bound into every signed payload. */
    readonly roomId: string,
    readonly signer: Signer,
    readonly capabilities: Capabilities,
    readonly room: Room,
    readonly presence: PresenceTracker,
    readonly memory: MemoryStore,
  ) {
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
      },
      { heartbeatMs: config.heartbeatMs, peerTimeoutMs: config.peerTimeoutMs, signer, roomId },
    )
    const node = new SwarmNode(config, net, roomId, signer, capabilities, room, presence, new MemoryStore(room.doc, signer, roomId, { marks: room.marks }))
    presence.on('dropped', ({ count }) => node.#events.emit('error', new Error(`dropped an invalid peer state (${count} so far)`)))
    return node
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

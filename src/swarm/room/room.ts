import { WebrtcProvider } from 'y-webrtc'
import type { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import type { Marks } from '../../memory/marks'
import type { StorageFullError } from '../../memory/storage-full'
import { Emitter, type Unsubscribe } from '../../shared/events'
import { BudgetGuard, defaultBudgets, type Budgets, type Drop, type Drops } from './budget'
import { IndexeddbDocStorage, storageNameOf } from './indexeddb-storage'
import { FailoverSignalingClient, type SignalingState } from './signaling-client'
import type { DocStorage, OpenDocStorage } from './storage'
import { LinkMonitor } from './link-monitor'
import type { IceError, LinkStat } from './link-stats'

export interface RoomOptions {
  room: string
  key: string | null
  /** Signaling servers of the room, the page's own relay first (GET /net.json). */
  signalingUrls: readonly string[]
  iceServers?: RTCIceServer[]
  /** 'relay': every link goes through TURN, so no peer learns this node's addresses (`ice=relay`). */
  iceTransportPolicy?: RTCIceTransportPolicy
  /** What one peer may send before its messages are dropped unread (defaultBudgets). */
  budgets?: Budgets
  /** Where the doc is kept on this device: IndexedDB unless told otherwise. */
  storage?: OpenDocStorage
}

export interface Links {
  /** y-webrtc's id for this tab's connection (not the node id). */
  linkId: string | null
  /** y-webrtc ids of the peers this tab has a WebRTC connection to. */
  webrtc: string[]
}

export interface RoomEvents {
  links: Links
  synced: boolean
  /** A peer's message was dropped before Yjs read it (too big, over its budget, malformed). */
  drop: Drop
  /** This browser refused to store the room's changes: they are in the page and with the peers, not on this device. */
  'storage-full': StorageFullError
  /** How each link is linked (direct or through TURN) and its round-trip time, when that changed. */
  'link-stats': ReadonlyMap<string, LinkStat>
  /** An ICE server answered a link's candidate gathering with an error (a TURN server refusing its credentials). */
  'ice-error': IceError
  /** The signaling connection opened, dropped, or is waiting to try again. */
  signaling: SignalingState
}

/**
 * One room as the node sees it: its shared doc and awareness, the links to its peers, what
 * was dropped of their messages, and the doc's storage on this device. SwarmNode and the UI
 * hold a room only through this.
 */
export interface Room {
  readonly doc: Y.Doc
  readonly awareness: Awareness
  /** The doc's local copy on this device. */
  readonly storage: DocStorage
  /** High-water marks of the doc's signed values, kept beside the doc (the storage's). */
  readonly marks: Marks
  links(): Links
  /** The last measured stats of each connected link, by the y-webrtc id of its peer. */
  linkStats(): ReadonlyMap<string, LinkStat>
  /** ICE servers for links made from now on (renewed TURN credentials); links up keep theirs. */
  setIceServers(iceServers: RTCIceServer[]): void
  /** Where the room's one signaling connection stands (its URL, or offline and when it tries again). */
  signaling(): SignalingState
  /** Messages of peers dropped so far before Yjs read them, by reason. */
  drops(): Drops
  /** The last storage failure told, or null when there was none. */
  storageFull(): StorageFullError | null
  /** See DocStorage.whenStored. */
  whenStored(): Promise<boolean>
  /** Returns its unsubscribe. */
  on<K extends keyof RoomEvents>(event: K, listener: (payload: RoomEvents[K]) => void): Unsubscribe
  destroy(): Promise<void>
}

/** Opens a room once its local copy (and the marks beside it) has been read. */
export type OpenRoom = (options: RoomOptions) => Promise<Room>

const defaultIceServers: RTCIceServer[] = [{ urls: 'stun:stun.l.google.com:19302' }]

/**
 * One room over y-webrtc, using our relay as the signaling server and the room key as
 * y-webrtc's password: any stock y-webrtc client with the same name, password and signaling
 * URL joins the same room. One signaling connection serves the room's signaling URLs, failing
 * over between them (FailoverSignalingClient). Every peer's message passes a byte budget
 * (BudgetGuard) before Yjs reads it; a storage failure (quota) is told as 'storage-full', never
 * swallowed.
 */
export class WebrtcRoom implements Room {
  readonly doc = new Y.Doc()
  readonly provider: WebrtcProvider
  readonly storage: DocStorage
  readonly #guard: BudgetGuard
  readonly #events = new Emitter<RoomEvents>()
  readonly #stopStorage: Unsubscribe
  #storageFull: StorageFullError | null = null
  #links: Links = { linkId: null, webrtc: [] }
  readonly #monitor: LinkMonitor
  #signaling: FailoverSignalingClient | null = null

  private constructor(options: RoomOptions, storageName: string) {
    this.storage = (options.storage ?? ((name, doc) => new IndexeddbDocStorage(name, doc)))(storageName, this.doc)
    this.#stopStorage = this.storage.onFull((error) => {
      this.#storageFull = error
      this.#events.emit('storage-full', error)
    })
    this.#guard = new BudgetGuard(options.budgets ?? defaultBudgets, (drop) => this.#events.emit('drop', drop))
    this.#monitor = new LinkMonitor({
      links: () => this.provider.room?.webrtcConns ?? [],
      onStats: (stats) => this.#events.emit('link-stats', stats),
      onIceError: (error) => this.#events.emit('ice-error', error),
    })
    const config: RTCConfiguration = { iceServers: options.iceServers ?? defaultIceServers, iceTransportPolicy: options.iceTransportPolicy ?? 'all' }
    this.provider = new WebrtcProvider(options.room, this.doc, {
      signaling: [...options.signalingUrls],
      ...(options.key === null ? {} : { password: options.key }),
      // y-webrtc hands `peerOpts` to each new simple-peer: our wrtc classes let the monitor hear every link's ICE errors.
      peerOpts: { config, wrtc: this.#monitor.wrtc },
      guard: this.#guard,
      connectSignaling: (urls) => {
        const client = new FailoverSignalingClient(urls)
        client.onState((state) => this.#events.emit('signaling', state))
        this.#signaling = client
        return client
      },
    })
    this.provider.on('peers', ({ webrtcPeers }) => {
      this.#links = { linkId: this.provider.room?.peerId ?? null, webrtc: [...webrtcPeers].sort() }
      this.#events.emit('links', this.#links)
      void this.#monitor.sample()
    })
    this.provider.on('synced', ({ synced }) => this.#events.emit('synced', synced))
  }

  /** Opens the room once its local copy (and the marks beside it) has been read. */
  static async open(options: RoomOptions): Promise<WebrtcRoom> {
    const room = new WebrtcRoom(options, await storageNameOf(options.room, options.key))
    await room.storage.whenSynced
    return room
  }

  get marks(): Marks {
    return this.storage.marks()
  }

  drops(): Drops {
    return this.#guard.drops()
  }

  storageFull(): StorageFullError | null {
    return this.#storageFull
  }

  whenStored(): Promise<boolean> {
    return this.storage.whenStored()
  }

  get awareness(): Awareness {
    return this.provider.awareness
  }

  links(): Links {
    return { ...this.#links, linkId: this.provider.room?.peerId ?? null }
  }

  linkStats(): ReadonlyMap<string, LinkStat> {
    return this.#monitor.stats()
  }

  setIceServers(iceServers: RTCIceServer[]): void {
    const peerOpts = this.provider.peerOpts as { config: RTCConfiguration }
    this.provider.peerOpts = { ...peerOpts, config: { ...peerOpts.config, iceServers } }
  }

  signaling(): SignalingState {
    return this.#signaling?.state() ?? { status: 'offline', url: '', urls: [], retryAtMs: null, failures: 0 }
  }

  on<K extends keyof RoomEvents>(event: K, listener: (payload: RoomEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  async destroy(): Promise<void> {
    this.#monitor.stop()
    this.#stopStorage()
    // y-webrtc's destroy leaves the signaling connection open for the next provider; ours closes it.
    this.provider.disconnect()
    this.provider.destroy()
    await this.storage.destroy()
    this.doc.destroy()
    this.#events.clear()
  }
}

import { IndexeddbPersistence } from 'y-indexeddb'
import { WebrtcProvider } from 'y-webrtc'
import * as Y from 'yjs'
import { sha256, toHex, utf8 } from '../shared/encoding'
import { Emitter, type Unsubscribe } from '../shared/events'

export interface RoomOptions {
  room: string
  key: string | null
  signalingUrl: string
  iceServers?: RTCIceServer[]
}

export interface Links {
  /** y-webrtc's id for this tab's connection (not the node id). */
  linkId: string | null
  /** y-webrtc ids of the peers this tab has a WebRTC connection to. */
  webrtc: string[]
}

interface RoomEvents {
  links: Links
  synced: boolean
}

const defaultIceServers: RTCIceServer[] = [{ urls: 'stun:stun.l.google.com:19302' }]

/**
 * One room: its Y.Doc persisted in IndexedDB and shared over WebRTC with y-webrtc, using our
 * relay as the signaling server and the room key as y-webrtc's password. Any stock y-webrtc
 * client with the same name, password and signaling URL joins the same room.
 */
export class Room {
  readonly doc = new Y.Doc()
  readonly provider: WebrtcProvider
  readonly persistence: IndexeddbPersistence
  readonly #events = new Emitter<RoomEvents>()
  #links: Links = { linkId: null, webrtc: [] }

  private constructor(options: RoomOptions, storageName: string) {
    this.persistence = new IndexeddbPersistence(storageName, this.doc)
    this.provider = new WebrtcProvider(options.room, this.doc, {
      signaling: [options.signalingUrl],
      ...(options.key === null ? {} : { password: options.key }),
      peerOpts: { config: { iceServers: options.iceServers ?? defaultIceServers } },
    })
    this.provider.on('peers', ({ webrtcPeers }) => {
      this.#links = { linkId: this.provider.room?.peerId ?? null, webrtc: [...webrtcPeers].sort() }
      this.#events.emit('links', this.#links)
    })
    this.provider.on('synced', ({ synced }) => this.#events.emit('synced', synced))
  }

  /** Opens the room once its local copy has been read from IndexedDB. */
  static async open(options: RoomOptions): Promise<Room> {
    const room = new Room(options, await storageNameOf(options.room, options.key))
    await room.persistence.whenSynced
    return room
  }

  get awareness(): WebrtcProvider['awareness'] {
    return this.provider.awareness
  }

  links(): Links {
    return { ...this.#links, linkId: this.provider.room?.peerId ?? null }
  }

  on<K extends keyof RoomEvents>(event: K, listener: (payload: RoomEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  async destroy(): Promise<void> {
    this.provider.destroy()
    await this.persistence.destroy()
    this.doc.destroy()
  }
}

/** Rooms of the same name with different keys are different rooms, stored apart. */
async function storageNameOf(room: string, key: string | null): Promise<string> {
  const keyTag = key === null ? 'open' : toHex(await sha256(utf8(`${room}\u0000${key}`))).slice(0, 16)
  return `edgeswarm-room:${room}:${keyTag}`
}

// One peer of a room in a process of its own (y-webrtc keeps one room of a name per process),
// driven over IPC by room-links.test.ts: y-webrtc over @roamhq/wrtc, as the relay's gateway
// runs it. `stock` runs y-webrtc and Yjs as published (the patches taken off); `hostile` is
// one of ours that reads our source and can withhold what it sends and send any bytes.
import { pathToFileURL } from 'node:url'
import { loadWebrtc } from '../../../src/relay/gateway/node-webrtc'
import { stockEntryOf } from '../../e2e/support/patched-packages'

export type PeerCommand =
  { op: 'state' } | { op: 'set'; key: string; value: string } | { op: 'withhold'; peers: string[] } | { op: 'deafen'; peers: string[] } | { op: 'send'; peer: string; bytes: number[] }

export interface PeerState {
  peerId: string | null
  /** The peers this one has an open link to. */
  links: string[]
  /** What each linked peer says it is linked to, by peer id (null: it never said). */
  claims: Record<string, string[] | null>
  map: Record<string, string>
  /** Yjs update messages (sync step 2 and update) that came in over links. */
  updatesIn: number
  /** Sync step 1 messages (a peer asking for what it lacks) that came in over links. */
  step1In: number
  /** The same, by the peer that sent them. */
  step1By: Record<string, number>
  /** Messages of deafened peers the guard dropped. */
  deafDrops: number
  /** Messages the guard heard were dropped as malformed. */
  malformed: number
  /** console.error calls (stock y-webrtc logs a message it cannot read there). */
  errors: number
}

export interface PeerOptions {
  room: string
  signalUrl: string
  maxConns: number
  stock: boolean
  antiEntropyMs: number
  /** y-webrtc's default (3 s) when not given. */
  linkSilenceMs?: number
  /** A hostile peer's own choice of y-webrtc id (y-webrtc draws one otherwise). */
  peerId?: string
  /** The room's password: its signaling is encrypted, so the relay cannot read (or check) the ids in it. */
  password?: string
}

interface Conn {
  remotePeerId: string
  connected: boolean
  remoteLinks?: Map<string, string> | null
  peer: { send(data: Uint8Array): void }
}

const options = JSON.parse(process.argv[2] ?? '{}') as PeerOptions
type YjsModule = typeof import('yjs')
type WebrtcModule = typeof import('y-webrtc')
const Y = (options.stock ? await import(pathToFileURL(stockEntryOf('yjs')).href) : await import('yjs')) as YjsModule
const { WebrtcProvider } = (options.stock ? await import(pathToFileURL(stockEntryOf('y-webrtc')).href) : await import('y-webrtc')) as WebrtcModule

let errors = 0
const consoleError = console.error.bind(console)
console.error = (...args: unknown[]): void => {
  errors++
  consoleError(...args)
}

const wrtc = await loadWebrtc()
const doc = new Y.Doc()
const map = doc.getMap<string>('m')
let updatesIn = 0
let step1In = 0
const step1By: Record<string, number> = {}
let malformed = 0
const withheld = new Set<string>()
// A deafened peer's messages are dropped by this one's guard, as a byte budget would drop them:
// the link stays open and carries nothing from it (what a link that connected but broke looks like).
const deafened = new Set<string>()
let deafDrops = 0
const guard = {
  admit: (peer: string, message: Uint8Array): boolean => {
    if (deafened.has(peer)) {
      deafDrops++
      return false
    }
    if (message[0] === 0 && (message[1] === 1 || message[1] === 2)) updatesIn++
    if (message[0] === 0 && message[1] === 0) {
      step1In++
      step1By[peer] = (step1By[peer] ?? 0) + 1
    }
    return true
  },
  dropped: (): void => {
    malformed++
  },
}
const provider = new WebrtcProvider(options.room, doc, {
  signaling: [options.signalUrl],
  maxConns: options.maxConns,
  ...(options.password === undefined ? {} : { password: options.password }),
  peerOpts: { wrtc, config: { iceServers: [] } },
  ...(options.stock ? {} : { guard, antiEntropyMs: options.antiEntropyMs, ...(options.linkSilenceMs === undefined ? {} : { linkSilenceMs: options.linkSilenceMs }) }),
})

// A room opens once the provider's key settles and announces its id at once: with an id of its
// own choice, the peer stays off signaling until the room is open and the id set.
if (options.peerId !== undefined) {
  provider.disconnect()
  await provider.key
  if (provider.room) provider.room.peerId = options.peerId
  provider.connect()
}

function conns(): Conn[] {
  return [...(provider.room?.webrtcConns.values() ?? [])] as Conn[]
}

/** A withholding peer drops the Yjs updates (sync step 2 and update) it would send to `conn`. */
function withhold(conn: Conn): void {
  const send = conn.peer.send.bind(conn.peer)
  conn.peer.send = (data: Uint8Array): void => {
    if (withheld.has(conn.remotePeerId) && data[0] === 0 && (data[1] === 1 || data[1] === 2)) return
    send(data)
  }
}
const wrapped = new WeakSet<Conn>()
provider.on('peers', () => {
  for (const conn of conns()) {
    if (wrapped.has(conn)) continue
    wrapped.add(conn)
    withhold(conn)
  }
})

function state(): PeerState {
  const open = conns().filter((conn) => conn.connected)
  return {
    peerId: provider.room?.peerId ?? null,
    links: open.map((conn) => conn.remotePeerId).sort(),
    claims: Object.fromEntries(open.map((conn) => [conn.remotePeerId, conn.remoteLinks ? [...conn.remoteLinks.keys()].sort() : null])),
    map: Object.fromEntries(map.entries()),
    updatesIn,
    step1In,
    step1By: { ...step1By },
    deafDrops,
    malformed,
    errors,
  }
}

process.on('message', (message: { id: number; command: PeerCommand }) => {
  const { id, command } = message
  let reply: unknown = null
  if (command.op === 'state') reply = state()
  else if (command.op === 'set') map.set(command.key, command.value)
  else if (command.op === 'withhold') for (const peer of command.peers) withheld.add(peer)
  else if (command.op === 'deafen') for (const peer of command.peers) deafened.add(peer)
  else {
    const conn = conns().find((candidate) => candidate.remotePeerId === command.peer)
    conn?.peer.send(Uint8Array.from(command.bytes))
  }
  process.send?.({ id, reply })
})
process.on('disconnect', () => {
  provider.destroy()
  process.exit(0)
})
process.send?.({ id: 0, reply: 'ready' })

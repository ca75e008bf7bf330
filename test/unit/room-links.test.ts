// y-webrtc's relaying as patched (patches/y-webrtc+10.3.0.patch): a peer relays an update that
// came over a link only to the peers that link has not reached itself, by the claims of both
// ends. Real y-webrtc peers in processes of their own, over @roamhq/wrtc, signaling through the
// real relay; hostile peers withhold, claim links they do not have and send malformed claims.
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import * as encoding from 'lib0/encoding'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { claimsAgree, linkTagOf, WebrtcProvider } from 'y-webrtc'
import * as Y from 'yjs'
import { loadWebrtc } from '../../src/relay/gateway/node-webrtc'
import { startRelayProcess, type RelayProcess } from './relay-fuzz/relay-process'
import type { PeerCommand, PeerOptions, PeerState } from './room-links/peer'

const peerScript = path.resolve(import.meta.dirname, 'room-links/peer.ts')
const waitMs = 30_000

interface Peer {
  state(): Promise<PeerState>
  command(command: PeerCommand): Promise<unknown>
  kill(): void
}

let relay: RelayProcess
const running: Peer[] = []
let rooms = 0

beforeAll(async () => {
  const staticDir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-links-'))
  relay = await startRelayProcess({ RELAY_STATIC_DIR: staticDir, RELAY_MAX_CONN_PER_IP: '1000', RELAY_CONNECTS_PER_S_PER_IP: '1000' }, () => true)
}, 30_000)
afterAll(async () => {
  await relay.stop()
})
afterEach(() => {
  for (const peer of running.splice(0)) peer.kill()
})

function newRoom(): string {
  return `links-${process.pid}-${++rooms}`
}

async function startPeer(room: string, options: Partial<Omit<PeerOptions, 'room' | 'signalUrl'>> = {}): Promise<Peer> {
  const full: PeerOptions = { room, signalUrl: relay.signalUrl, maxConns: 20, stock: false, antiEntropyMs: 10_000, ...options }
  const child: ChildProcess = fork(peerScript, [JSON.stringify(full)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiting = new Map<number, (reply: unknown) => void>()
  let next = 1
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`peer exited with ${code}`)))
    waiting.set(0, () => resolve())
  })
  child.on('message', (message: { id: number; reply: unknown }) => {
    waiting.get(message.id)?.(message.reply)
    waiting.delete(message.id)
  })
  const command = (command: PeerCommand): Promise<unknown> =>
    new Promise((resolve) => {
      const id = next++
      waiting.set(id, resolve)
      child.send({ id, command })
    })
  const peer: Peer = {
    command,
    state: () => command({ op: 'state' }) as Promise<PeerState>,
    kill: () => child.kill(),
  }
  running.push(peer)
  await ready
  return peer
}

async function until<T>(what: string, read: () => Promise<T>, holds: (value: T) => boolean, timeoutMs = waitMs): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (holds(value)) return value
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms; last: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Waits until every peer is linked to exactly the peers `links` gives it, and (for patched peers) knows their claims. */
async function linked(peers: Peer[], links: (index: number) => number[], claims = true): Promise<PeerState[]> {
  const states = await until(
    'peers linked',
    () => Promise.all(peers.map((peer) => peer.state())),
    (states) =>
      states.every((state) => state.peerId !== null) &&
      states.every(
        (state, i) =>
          state.links.join() ===
          links(i)
            .map((j) => states[j]?.peerId)
            .sort()
            .join(),
      ),
  )
  if (!claims) return states
  return until(
    'claims known',
    () => Promise.all(peers.map((peer) => peer.state())),
    (states) => states.every((state) => Object.entries(state.claims).every(([id, claim]) => claim !== null && claim.join() === states.find((other) => other.peerId === id)?.links.join())),
  )
}

const fullMesh =
  (count: number) =>
  (i: number): number[] =>
    [...Array(count).keys()].filter((j) => j !== i)

async function mapOf(peer: Peer): Promise<Record<string, string>> {
  return (await peer.state()).map
}

/** Waits until `peer`'s map holds `value` at `key`. */
async function valueAt(what: string, peer: Peer, key: string, value: string, timeoutMs = waitMs): Promise<void> {
  await until(
    what,
    () => mapOf(peer),
    (map) => map[key] === value,
    timeoutMs,
  )
}

describe('relaying between linked peers (patched y-webrtc)', { timeout: 90_000 }, () => {
  it('in a full mesh each update crosses each link once: no relay to peers the writer reached, none back to it', async () => {
    const room = newRoom()
    const peers = [await startPeer(room), await startPeer(room), await startPeer(room), await startPeer(room)]
    await linked(peers, fullMesh(4))
    const [writer, ...readers] = peers as [Peer, ...Peer[]]
    const before = await Promise.all(peers.map((peer) => peer.state()))
    for (let i = 0; i < 20; i++) {
      await writer.command({ op: 'set', key: `k${i}`, value: String(i) })
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    for (const reader of readers)
      await until(
        'every write read',
        () => mapOf(reader),
        (map) => Object.keys(map).length === 20,
      )
    const after = await Promise.all(peers.map((peer) => peer.state()))
    // Stock y-webrtc: each reader gets the writer's 20 and the other two readers' 40 relays; the writer gets 60 back.
    expect(after.map((state, i) => state.updatesIn - (before[i]?.updatesIn ?? 0))).toEqual([0, 20, 20, 20])
  })

  it('a partial mesh still floods: in a line A–B–C, C gets A’s writes through B, and A gets C’s', async () => {
    const room = newRoom()
    const a = await startPeer(room, { maxConns: 1 })
    const b = await startPeer(room, { maxConns: 2 })
    await linked([a, b], (i) => [1 - i])
    const c = await startPeer(room, { maxConns: 1 })
    await linked([a, b, c], (i) => [[1], [0, 2], [1]][i] ?? [])
    await a.command({ op: 'set', key: 'from-a', value: 'a' })
    await c.command({ op: 'set', key: 'from-c', value: 'c' })
    await valueAt('A’s write at C', c, 'from-a', 'a')
    await valueAt('C’s write at A', a, 'from-c', 'c')
  })

  it('a peer that withholds its write from one link cannot hold back what others build on it: the reader asks for what is missing', async () => {
    const room = newRoom()
    // No anti-entropy turn comes during this test: only the repair can bring the withheld write.
    const options = { antiEntropyMs: 600_000 }
    const [hostile, b, c] = [await startPeer(room, options), await startPeer(room, options), await startPeer(room, options)]
    const states = await linked([hostile, b, c], fullMesh(3))
    await hostile.command({ op: 'withhold', peers: [states[2]?.peerId ?? ''] })
    await hostile.command({ op: 'set', key: 'k', value: 'hostile' })
    await valueAt('the hostile write at B', b, 'k', 'hostile')
    // B's value for k is a Yjs item whose origin is the hostile one: C cannot apply it without it.
    await b.command({ op: 'set', key: 'k', value: 'b' })
    await b.command({ op: 'set', key: 'after', value: 'b' })
    await until(
      'B’s writes at C',
      () => mapOf(c),
      (map) => map['k'] === 'b' && map['after'] === 'b',
      15_000,
    )
  })

  it('what a link withholds arrives with the next anti-entropy turn', async () => {
    const room = newRoom()
    const options = { antiEntropyMs: 1_000 }
    const [hostile, b, c] = [await startPeer(room, options), await startPeer(room, options), await startPeer(room, options)]
    const states = await linked([hostile, b, c], fullMesh(3))
    await hostile.command({ op: 'withhold', peers: [states[2]?.peerId ?? ''] })
    await hostile.command({ op: 'set', key: 'solo', value: 'hostile' })
    await valueAt('the hostile write at B', b, 'solo', 'hostile')
    // C asks both its links each turn; the hostile one answers nothing.
    await valueAt('the withheld write at C', c, 'solo', 'hostile', 8_000)
  })

  it('each anti-entropy turn asks every link, so links that answer nothing cannot keep an honest one from being asked', async () => {
    const room = newRoom()
    const peers = [await startPeer(room, { antiEntropyMs: 1_000 }), await startPeer(room), await startPeer(room), await startPeer(room)]
    const states = await linked(peers, fullMesh(4))
    const askerId = states[0]?.peerId ?? ''
    const before = await Promise.all(peers.slice(1).map((peer) => peer.state()))
    await new Promise((resolve) => setTimeout(resolve, 4_500))
    const after = await Promise.all(peers.slice(1).map((peer) => peer.state()))
    // Four or five turns in 4.5 s: one link asked per turn (as before) would be one or two asks each.
    const asks = after.map((state, i) => (state.step1By[askerId] ?? 0) - (before[i]?.step1By[askerId] ?? 0))
    for (const count of asks) expect(count).toBeGreaterThanOrEqual(3)
  })

  it('a claim that cannot be read counts as none: what that link sends is relayed again at once', async () => {
    const room = newRoom()
    // No anti-entropy turn and no repair comes during this test: only B's relaying can bring the write to C.
    const options = { antiEntropyMs: 600_000 }
    const [hostile, b, c] = [await startPeer(room, options), await startPeer(room, options), await startPeer(room, options)]
    const states = await linked([hostile, b, c], fullMesh(3))
    const [hostileId, bId, cId] = states.map((state) => state.peerId ?? '')
    // The hostile one claims its links truly (so B skips relaying its writes to C), withholds from C, then sends B a claim B cannot read.
    await hostile.command({ op: 'withhold', peers: [cId ?? ''] })
    const malformedBefore = (await b.state()).malformed
    await hostile.command({ op: 'send', peer: bId ?? '', bytes: [5, 1, 200, 1, ...Buffer.from('x'.repeat(200))] })
    await until(
      'B dropped the claim, and holds none for the hostile link',
      () => b.state(),
      (state) => state.malformed > malformedBefore && state.claims[hostileId ?? '']?.length === 0,
    )
    await hostile.command({ op: 'set', key: 'after-bad-claim', value: 'h' })
    await valueAt('the hostile write at C through B', c, 'after-bad-claim', 'h', 10_000)
  })

  it('a link that stays open but carries nothing is claimed no longer: what its far end writes is relayed, and what it dropped is asked for', async () => {
    const room = newRoom()
    // No anti-entropy turn comes during this test: only relaying and the silence repair can bring A's writes to B.
    const options = { antiEntropyMs: 600_000, linkSilenceMs: 1_500 }
    const [a, b, c] = [await startPeer(room, options), await startPeer(room, options), await startPeer(room, options)]
    const states = await linked([a, b, c], fullMesh(3))
    const [aId, bId, cId] = states.map((state) => state.peerId ?? '')
    // A quiet room keeps its claims: each link is sent its claim again while nothing else crosses it.
    await new Promise((resolve) => setTimeout(resolve, 4_000))
    await linked([a, b, c], fullMesh(3))
    // B's guard now drops everything A sends it (a budget would): the link stays open, nothing gets through.
    await b.command({ op: 'deafen', peers: [aId ?? ''] })
    await a.command({ op: 'set', key: 'while-deaf', value: 'a' })
    await valueAt('A’s write at C', c, 'while-deaf', 'a')
    // C skipped relaying it to B (both claimed their link): B gets it when its link to A falls silent and it asks C.
    await valueAt('A’s dropped write at B', b, 'while-deaf', 'a', 8_000)
    const claims = await until(
      'B claims C only',
      () => c.state(),
      (state) => state.claims[bId ?? '']?.join() === cId,
    )
    expect(claims.links).toEqual([aId, bId].sort())
    expect((await b.state()).deafDrops).toBeGreaterThan(0)
    // From now on C relays A's writes to B at once.
    await a.command({ op: 'set', key: 'after', value: 'a' })
    await valueAt('A’s next write at B through C', b, 'after', 'a', 2_000)
  })

  it('linkSilenceMs takes a number of ms from 300, or Infinity', () => {
    for (const linkSilenceMs of [0, 299, Number.NaN, -1, 2 ** 31]) expect(() => new WebrtcProvider('silence-check', new Y.Doc(), { signaling: [], linkSilenceMs })).toThrow(/linkSilenceMs/)
  })

  it('a peer whose id is longer than a claim may name is refused at signaling: no link, and no claim of anyone made unreadable', async () => {
    const room = newRoom()
    // With a password the relay cannot read the sender ids (it checks their length where it can): only the peers can.
    const password = { password: 'room secret' }
    const honest = await startPeer(room, password)
    const malformedBefore = (await honest.state()).malformed
    const longId = await startPeer(room, { ...password, peerId: 'p'.repeat(200) })
    await until(
      'the long id’s signaling dropped',
      () => honest.state(),
      (state) => state.malformed > malformedBefore,
    )
    const other = await startPeer(room, password)
    const states = await linked([honest, other], (i) => [1 - i])
    expect(states[0]?.links).toEqual([states[1]?.peerId])
    expect((await longId.state()).links).toEqual([])
  })

  it('updates that wait on a struct that never comes make the reader ask for it less and less often', async () => {
    const room = newRoom()
    const options = { antiEntropyMs: 600_000 }
    const [hostile, victim] = [await startPeer(room, options), await startPeer(room, options)]
    const states = await linked([hostile, victim], (i) => [1 - i])
    // The second of two writes, without the first: Yjs keeps it waiting for a struct the hostile never sends.
    const doc = new Y.Doc()
    doc.getMap('m').set('x', 'never sent')
    const known = Y.encodeStateVector(doc)
    doc.getMap('m').set('x', 'waits')
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 0)
    encoding.writeVarUint(encoder, 2)
    encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(doc, known))
    const bytes = [...encoding.toUint8Array(encoder)]
    const before = (await hostile.state()).step1In
    for (const end = Date.now() + 10_000; Date.now() < end;) {
      await hostile.command({ op: 'send', peer: states[1]?.peerId ?? '', bytes })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    // Once a second would be 10 asks; backing off, they come at about 0, 2 and 6 s.
    const asked = (await hostile.state()).step1In - before
    expect(asked).toBeGreaterThanOrEqual(2)
    expect(asked).toBeLessThanOrEqual(4)
    expect((await victim.state()).map['x']).toBeUndefined()
  })

  it('claims of links a peer does not have reduce nothing others are sent; malformed claims are dropped and counted', async () => {
    const room = newRoom()
    const b = await startPeer(room, { maxConns: 3 })
    const liar = await startPeer(room, { maxConns: 1 })
    await linked([b, liar], (i) => [1 - i])
    const c = await startPeer(room, { maxConns: 1 })
    const states = await linked([b, liar, c], (i) => [[1, 2], [0], [0]][i] ?? [])
    const ids = states.map((state) => state.peerId ?? '')
    const bId = ids[0] ?? ''
    // The liar says it is linked to C (and to B and itself), each under some tag: were its word enough, B would not relay its writes to C.
    const tag = Buffer.from('made-up link tag')
    const claim = [5, ids.length, ...ids.flatMap((id) => [id.length, ...Buffer.from(id), tag.length, ...tag])]
    await liar.command({ op: 'send', peer: bId, bytes: claim })
    await until(
      'B holds the claim',
      () => b.state(),
      (state) => state.claims[ids[1] ?? '']?.includes(ids[2] ?? '') === true,
    )
    await liar.command({ op: 'set', key: 'liar', value: 'l' })
    await valueAt('the liar’s write at C through B', c, 'liar', 'l')

    const malformedBefore = (await b.state()).malformed
    const longId = 'x'.repeat(200)
    await liar.command({ op: 'send', peer: bId, bytes: [5, 0xff, 0xff, 0x03] })
    await liar.command({ op: 'send', peer: bId, bytes: [5, 1, 200, 1, ...Buffer.from(longId)] })
    await liar.command({ op: 'send', peer: bId, bytes: [5, 3, 1] })
    await until(
      'the malformed claims counted',
      () => b.state(),
      (state) => state.malformed - malformedBefore === 3,
    )
    await liar.command({ op: 'set', key: 'still', value: 'relayed' })
    await valueAt('the liar’s next write at C', c, 'still', 'relayed')
  })

  it('a stock y-webrtc peer gets every write, relays to us as stock does, and is sent nothing it cannot read', async () => {
    const room = newRoom()
    const [a, stock, b] = [await startPeer(room), await startPeer(room, { stock: true }), await startPeer(room)]
    const states = await linked([a, stock, b], fullMesh(3), false)
    await until(
      'the patched peers know each other’s claims',
      () => a.state(),
      (state) => state.claims[states[2]?.peerId ?? ''] !== null,
    )
    for (let i = 0; i < 5; i++) await a.command({ op: 'set', key: `a${i}`, value: 'a' })
    for (let i = 0; i < 5; i++) await stock.command({ op: 'set', key: `s${i}`, value: 's' })
    for (const peer of [a, stock, b])
      await until(
        'all ten writes',
        () => mapOf(peer),
        (map) => Object.keys(map).length === 10,
      )
    const stockState = await stock.state()
    expect(stockState.errors).toBe(0)
    // A stock peer never claims links, so nothing is held back from it.
    expect((await a.state()).claims[stockState.peerId ?? '']).toBeNull()
  })
})

/** The part of RTCPeerConnection an offer/answer exchange needs (as @roamhq/wrtc has it). */
interface Pc {
  createOffer(): Promise<{ type: string; sdp: string }>
  createAnswer(): Promise<{ type: string; sdp: string }>
  setLocalDescription(description: { type: string; sdp: string }): Promise<void>
  setRemoteDescription(description: { type: string; sdp: string }): Promise<void>
  createDataChannel(label: string): unknown
  close(): void
}

describe('link tags: what a claim names a link by', () => {
  const opened: Pc[] = []
  afterEach(() => {
    for (const pc of opened.splice(0)) pc.close()
  })

  /** The two ends of one link, as simple-peer holds them (`_pc`), after the offer and answer: what linkTagOf reads. */
  async function link(): Promise<[{ _pc: Pc }, { _pc: Pc }]> {
    const wrtc = (await loadWebrtc()) as unknown as { RTCPeerConnection: new (config: object) => Pc }
    const [offerer, answerer] = [new wrtc.RTCPeerConnection({ iceServers: [] }), new wrtc.RTCPeerConnection({ iceServers: [] })]
    opened.push(offerer, answerer)
    offerer.createDataChannel('y')
    const offer = await offerer.createOffer()
    await offerer.setLocalDescription(offer)
    await answerer.setRemoteDescription(offer)
    const answer = await answerer.createAnswer()
    await answerer.setLocalDescription(answer)
    await offerer.setRemoteDescription(answer)
    return [{ _pc: offerer }, { _pc: answerer }]
  }

  it('both ends of a link name it alike; a peer holding two links under borrowed ids cannot make their claims agree', async () => {
    const [sToP, pToS] = await link()
    const tag = linkTagOf(sToP)
    expect(tag).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    expect(linkTagOf(pToS)).toBe(tag)
    // S and P truly linked: each claims the other under the same tag, so a node linked to both need not relay between them.
    expect(claimsAgree('S', new Map([['P', tag]]), 'P', new Map([['S', tag]]))).toBe(true)

    // H links to S as "P" and to P as "S" (S and P are not linked): S and P each truly claim a link to the other's id.
    const [sToH, hAsP] = await link()
    const [pToH, hAsS] = await link()
    const sClaims = new Map([['P', linkTagOf(sToH)]])
    const pClaims = new Map([['S', linkTagOf(pToH)]])
    expect(linkTagOf(hAsP)).toBe(sClaims.get('P'))
    expect(linkTagOf(hAsS)).toBe(pClaims.get('S'))
    expect(sClaims.get('P')).not.toBe(pClaims.get('S'))
    expect(claimsAgree('S', sClaims, 'P', pClaims)).toBe(false)
    expect(claimsAgree('P', pClaims, 'S', sClaims)).toBe(false)
    // No claim, one side's only, or no tag: nothing is skipped.
    expect(claimsAgree('S', null, 'P', new Map([['S', tag]]))).toBe(false)
    expect(claimsAgree('S', new Map([['P', tag]]), 'P', new Map())).toBe(false)
    expect(claimsAgree('S', new Map([['P', '']]), 'P', new Map([['S', '']]))).toBe(false)
    expect(linkTagOf({ _pc: null })).toBe('')
  })
})

// Random and mutated /signal frames: garbage, truncated and wrong-typed JSON, huge topics, bad
// `data` (null, '', numbers, objects), broken base64 and encryption envelopes, envelopes that
// will not decrypt, and, as a member with the key (or anyone in the open room), well-formed
// y-webrtc messages with garbage inside, addressed to the gateway.
import { encryptAny, encryptBytes, envelopeBytes, toBase64 } from './envelope'
import type { Random } from './random'

export interface FuzzRooms {
  keyed: { name: string; key: CryptoKey; gatewayPeerId: string }
  open: { name: string; gatewayPeerId: string }
}

export type Frame = { kind: string; text: string } | { kind: string; binary: Uint8Array }

const sdpTemplate = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=msid-semantic: WMS',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
]

/** An SDP with lines dropped, repeated or garbled. */
function mutatedSdp(random: Random): string {
  const lines = sdpTemplate.filter(() => !random.chance(0.15)).map((line) => (random.chance(0.15) ? `${line.slice(0, random.int(line.length))}${random.text(random.int(20))}` : line))
  if (random.chance(0.2)) lines.splice(random.int(lines.length), 0, random.text(random.int(200)))
  if (random.chance(0.1)) return random.text(random.int(500))
  return `${lines.join('\r\n')}\r\n`
}

/** A simple-peer signal the relay lets through (its shape holds) with garbage in it. */
function shapedSignal(random: Random): Record<string, unknown> {
  switch (random.int(5)) {
    case 0:
      return { type: random.pick(['offer', 'answer', 'pranswer']), sdp: mutatedSdp(random) }
    case 1:
      return {
        type: 'candidate',
        candidate: {
          candidate: random.pick(['', random.text(random.int(120)), `candidate:1 1 udp ${random.int(2 ** 31)} 127.0.0.1 ${random.int(70_000)} typ host`, 'candidate:x x x x x x x']),
          sdpMLineIndex: random.pick([null, 0, 1, 65_535, random.int(100)]),
          sdpMid: random.pick([null, '0', '', random.text(8)]),
        },
      }
    case 2:
      return { type: 'renegotiate', renegotiate: true }
    case 3:
      return { type: 'transceiverRequest', transceiverRequest: { kind: random.pick(['audio', 'video']), init: random.json(2) } }
    default:
      return { type: 'answer', sdp: mutatedSdp(random) }
  }
}

/** Anything at all where y-webrtc expects a signal (only a member's encrypted data can carry it). */
function anySignal(random: Random): unknown {
  return random.chance(0.5) ? shapedSignal(random) : random.pick([null, 5, 'offer', {}, { type: 'offer' }, { sdp: 5 }, { candidate: 'x' }, random.json(3)])
}

const randomBase64 = (random: Random): string => toBase64(random.bytes(random.int(300)))

const peerIdOf = (random: Random): string => random.pick([crypto.randomUUID(), random.text(1 + random.int(30)), 'x'.repeat(128)])

export interface FrameBudget {
  /** Announces left to send per room (each opens a link at the gateway, up to its cap). */
  announces: number
  /** Frames left that make the gateway create a peer connection (offers and candidates to it). */
  offers: number
}

/** One frame. `budget` bounds the frames that cost the gateway a native peer connection. */
export async function randomFrame(random: Random, rooms: FuzzRooms, budget: FrameBudget): Promise<Frame> {
  const topic = random.pick([rooms.keyed.name, rooms.open.name, rooms.keyed.name, rooms.open.name, 'elsewhere', random.text(1 + random.int(20))])
  const publish = (data: unknown, toTopic = topic): string => JSON.stringify({ type: 'publish', topic: toTopic, data })
  const kind = random.int(20)
  switch (kind) {
    case 0:
      return { kind: 'garbage', text: random.text(random.int(400)) }
    case 1: {
      const whole = publish({ type: 'signal', from: peerIdOf(random), to: rooms.open.gatewayPeerId, signal: shapedSignal(random) })
      return { kind: 'truncated', text: whole.slice(0, random.int(whole.length)) }
    }
    case 2:
      return { kind: 'json-value', text: JSON.stringify(random.json(4)) }
    case 3:
      return { kind: 'wrong-type', text: JSON.stringify({ type: random.pick(['pong', 'hello', 'PUBLISH', '', 5, null, 'announce']), topic, data: random.json(2) }) }
    case 4:
      return { kind: 'bad-subscribe', text: JSON.stringify({ type: random.pick(['subscribe', 'unsubscribe']), topics: random.pick([random.json(2), [random.json(1)], 'lab', [''], [5], null]) }) }
    case 5: {
      const huge = 'x'.repeat(random.pick([257, 1000, 30_000]))
      return { kind: 'huge-topic', text: random.chance(0.5) ? publish({ type: 'announce', from: 'a' }, huge) : JSON.stringify({ type: 'subscribe', topics: [huge] }) }
    }
    case 6:
      return { kind: 'bad-data', text: publish(random.pick([null, '', 0, 7, -1.5, true, [], {}, { type: 'announce' }, { from: 'x' }, { type: 'signal', from: 'a', to: 'b' }, random.json(3)])) }
    case 7:
      return { kind: 'bad-base64', text: publish(random.pick(['AAAA', '====', 'not base64!', randomBase64(random).slice(0, 1 + random.int(20)), randomBase64(random)])) }
    case 8: {
      const iv = random.bytes(random.pick([12, 12, 0, 8, 16]))
      const cipher = random.bytes(random.pick([0, 8, 15, 16, 64]))
      let bytes = envelopeBytes(iv, cipher, random.pick(['AES-GCM', 'AES-GCM', 'AES-CBC', '', 'aes-gcm']))
      const cut = random.int(3)
      if (cut === 0) bytes = bytes.slice(0, random.int(bytes.length))
      else if (cut === 1) bytes = Uint8Array.from([...bytes, ...random.bytes(1 + random.int(8))])
      return { kind: 'bad-envelope', text: publish(toBase64(bytes)) }
    }
    case 9:
      return { kind: 'undecryptable', text: publish(toBase64(envelopeBytes(random.bytes(12), random.bytes(16 + random.int(200)))), rooms.keyed.name) }
    case 10: {
      const plain = random.chance(0.5) ? await encryptAny(random.json(3), rooms.keyed.key) : await encryptBytes(random.bytes(random.int(100)), rooms.keyed.key)
      return { kind: 'member-garbage', text: publish(toBase64(plain), rooms.keyed.name) }
    }
    case 11: {
      const toGateway = budget.offers > 0 && random.chance(0.5)
      if (toGateway) budget.offers -= 1
      const data = { type: 'signal', from: peerIdOf(random), to: toGateway ? rooms.keyed.gatewayPeerId : peerIdOf(random), token: random.pick([undefined, 1, 'x', 1e300]), signal: anySignal(random) }
      return { kind: 'member-signal', text: publish(toBase64(await encryptAny(data, rooms.keyed.key)), rooms.keyed.name) }
    }
    case 12: {
      const toGateway = budget.offers > 0 && random.chance(0.5)
      if (toGateway) budget.offers -= 1
      const data = { type: 'signal', from: peerIdOf(random), to: toGateway ? rooms.open.gatewayPeerId : peerIdOf(random), token: random.int(1000), signal: shapedSignal(random) }
      return { kind: 'open-signal', text: publish(data, rooms.open.name) }
    }
    case 13: {
      if (budget.announces <= 0) return { kind: 'ping', text: '{"type":"ping"}' }
      budget.announces -= 1
      return random.chance(0.5)
        ? { kind: 'open-announce', text: publish({ type: 'announce', from: peerIdOf(random) }, rooms.open.name) }
        : { kind: 'member-announce', text: publish(toBase64(await encryptAny({ type: 'announce', from: peerIdOf(random) }, rooms.keyed.key)), rooms.keyed.name) }
    }
    case 14:
      return { kind: 'binary', binary: random.bytes(random.int(200)) }
    case 15:
      return { kind: 'oversized', text: publish('A'.repeat(70_000)) }
    case 16:
      return { kind: 'ping', text: '{"type":"ping"}' }
    case 17:
      // An open room's data to the keyed room, a keyed room's to the open one.
      return random.chance(0.5)
        ? { kind: 'wrong-room-type', text: publish({ type: 'signal', from: 'a', to: rooms.keyed.gatewayPeerId, signal: shapedSignal(random) }, rooms.keyed.name) }
        : { kind: 'wrong-room-type', text: publish(toBase64(envelopeBytes(random.bytes(12), random.bytes(32))), rooms.open.name) }
    case 18: {
      // An answer from a peer the gateway never offered to: y-webrtc reads a link that is not there.
      return { kind: 'stray-answer', text: publish({ type: 'signal', from: peerIdOf(random), to: rooms.open.gatewayPeerId, signal: { type: 'answer', sdp: mutatedSdp(random) } }, rooms.open.name) }
    }
    default:
      return { kind: 'subscribe', text: JSON.stringify({ type: 'subscribe', topics: [topic] }) }
  }
}

// The signaling protocol of y-webrtc (its bin/server.js), as schemas. Pure: the browser imports it too.
//
// A publish carries y-webrtc's `data` in one of two shapes, and the relay forwards only these:
// - a keyed room's: a base64 string of y-webrtc's encryption envelope
//   (varString 'AES-GCM', varUint8Array iv of 12 bytes, varUint8Array cipher of at least 16);
// - an open room's: `{ type: 'announce', from }` or `{ type: 'signal', from, to, token?, signal }`
//   with `signal` one of simple-peer's signal objects (sdp, candidate, renegotiate, transceiver).
// Anything else would only make a peer's y-webrtc throw; the relay drops it instead.
import { registerError } from './errors'
import * as v from 'valibot'

export const maxTopicLength = 256
/** y-webrtc's peer ids are uuids (36 characters); some room for other clients. */
export const maxPeerIdLength = 128

const topicSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(maxTopicLength))
const peerIdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(maxPeerIdLength))

export const subscribeFrameSchema = v.object({
  type: v.literal('subscribe'),
  topics: v.array(topicSchema),
})

export const unsubscribeFrameSchema = v.object({
  type: v.literal('unsubscribe'),
  topics: v.array(topicSchema),
})

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const envelopeAlgorithm = 'AES-GCM'
const ivBytes = 12
const gcmTagBytes = 16

/** Reads an unsigned LEB128 varint (lib0's varUint) at `at`; null past the end or over 2^28. */
function readVarUint(bytes: Uint8Array, at: number): { value: number; next: number } | null {
  let value = 0
  for (let shift = 0, index = at; shift <= 21; shift += 7, index += 1) {
    const byte = bytes[index]
    if (byte === undefined) return null
    value += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) return { value, next: index + 1 }
  }
  return null
}

/** Whether `text` is the base64 of a well-formed y-webrtc encryption envelope (not whether it decrypts). */
export function isEncryptionEnvelope(text: string): boolean {
  if (text.length === 0 || !base64Pattern.test(text)) return false
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i)
  let at = 0
  const nameLength = readVarUint(bytes, at)
  if (nameLength?.value !== envelopeAlgorithm.length) return false
  at = nameLength.next
  for (let i = 0; i < envelopeAlgorithm.length; i += 1) if (bytes[at + i] !== envelopeAlgorithm.charCodeAt(i)) return false
  at += envelopeAlgorithm.length
  const ivLength = readVarUint(bytes, at)
  if (ivLength?.value !== ivBytes) return false
  at = ivLength.next + ivBytes
  const cipherLength = readVarUint(bytes, at)
  if (cipherLength === null || cipherLength.value < gcmTagBytes) return false
  return cipherLength.next + cipherLength.value === bytes.length
}

const encryptedDataSchema = v.pipe(v.string(), v.check(isEncryptionEnvelope, 'not a y-webrtc encryption envelope'))

/** simple-peer's signal objects, as its `signal()` reads them; unknown fields pass. */
const peerSignalSchema = v.union([
  v.looseObject({ type: v.picklist(['offer', 'answer', 'pranswer']), sdp: v.string() }),
  v.looseObject({
    type: v.literal('candidate'),
    candidate: v.looseObject({
      candidate: v.string(),
      sdpMLineIndex: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65_535))),
      sdpMid: v.nullish(v.string()),
    }),
  }),
  v.looseObject({ renegotiate: v.literal(true) }),
  v.looseObject({ transceiverRequest: v.looseObject({ kind: v.picklist(['audio', 'video']) }) }),
])

/** An open room's signaling data; unknown fields are dropped. */
const plainDataSchema = v.variant('type', [
  v.object({ type: v.literal('announce'), from: peerIdSchema }),
  v.object({
    type: v.literal('signal'),
    from: peerIdSchema,
    to: peerIdSchema,
    token: v.optional(v.pipe(v.number(), v.finite())),
    signal: peerSignalSchema,
  }),
])

/** A publish: its topic and y-webrtc's data; any other field is dropped, not forwarded. */
export const publishFrameSchema = v.object({
  type: v.literal('publish'),
  topic: topicSchema,
  data: v.union([encryptedDataSchema, plainDataSchema]),
})

export const pingFrameSchema = v.object({ type: v.literal('ping') })

export const pongFrameSchema = v.object({ type: v.literal('pong') })

/** What a client may send to the relay. */
export const signalingFrameSchema = v.variant('type', [subscribeFrameSchema, unsubscribeFrameSchema, publishFrameSchema, pingFrameSchema])

/** What the relay sends to a client: a publish with `clients` (subscribers of the topic), or a pong. */
export const serverFrameSchema = v.variant('type', [
  v.looseObject({
    type: v.literal('publish'),
    topic: topicSchema,
    clients: v.pipe(v.number(), v.integer(), v.minValue(0)),
  }),
  pongFrameSchema,
])

export type SubscribeFrame = v.InferOutput<typeof subscribeFrameSchema>
export type UnsubscribeFrame = v.InferOutput<typeof unsubscribeFrameSchema>
export type PublishFrame = v.InferOutput<typeof publishFrameSchema>
export type PingFrame = v.InferOutput<typeof pingFrameSchema>
export type PongFrame = v.InferOutput<typeof pongFrameSchema>
export type SignalingFrame = v.InferOutput<typeof signalingFrameSchema>
export type ServerFrame = v.InferOutput<typeof serverFrameSchema>

export type SignalingFrameErrorReason = 'invalid-json' | 'invalid-frame'

export class SignalingFrameError extends Error {
  static {
    registerError((message) => new this('invalid-frame', message))
  }
  override readonly name = 'SignalingFrameError'
  readonly reason: SignalingFrameErrorReason

  constructor(reason: SignalingFrameErrorReason, message: string) {
    super(message)
    this.reason = reason
  }
}

/**
 * Parses one text frame a client sent. Returns the error instead of throwing, because a bad
 * frame is an expected input of a server, not an exceptional one.
 */
export function parseSignalingFrame(text: string): SignalingFrame | SignalingFrameError {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return new SignalingFrameError('invalid-json', 'signaling frame is not valid JSON')
  }
  const result = v.safeParse(signalingFrameSchema, json)
  if (!result.success) {
    return new SignalingFrameError('invalid-frame', `invalid signaling frame: ${v.summarize(result.issues)}`)
  }
  return result.output
}

/** Serializes what the relay sends to a subscriber of `frame.topic`: the frame as parsed, and `clients`. */
export function encodePublished(frame: PublishFrame, clients: number): string {
  return JSON.stringify({ type: frame.type, topic: frame.topic, data: frame.data, clients })
}

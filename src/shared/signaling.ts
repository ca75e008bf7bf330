// The signaling protocol of y-webrtc (its bin/server.js), as schemas. Pure: the browser imports it too.
import * as v from 'valibot'

export const maxTopicLength = 256

const topicSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(maxTopicLength))

export const subscribeFrameSchema = v.object({
  type: v.literal('subscribe'),
  topics: v.array(topicSchema),
})

export const unsubscribeFrameSchema = v.object({
  type: v.literal('unsubscribe'),
  topics: v.array(topicSchema),
})

/** Everything besides `type` and `topic` (y-webrtc's `data`) passes through to the subscribers. */
export const publishFrameSchema = v.looseObject({
  type: v.literal('publish'),
  topic: topicSchema,
})

export const pingFrameSchema = v.object({ type: v.literal('ping') })

export const pongFrameSchema = v.object({ type: v.literal('pong') })

/** What a client may send to the relay. */
export const signalingFrameSchema = v.variant('type', [
  subscribeFrameSchema,
  unsubscribeFrameSchema,
  publishFrameSchema,
  pingFrameSchema,
])

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

/** Serializes what the relay sends to a subscriber of `frame.topic`. */
export function encodePublished(frame: PublishFrame, clients: number): string {
  return JSON.stringify({ ...frame, clients })
}

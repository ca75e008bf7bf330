// What relay instances send each other through Redis: one publish frame of a signaling topic,
// and the instance it came from. Another instance may be buggy or compromised, so what comes
// is bounded, parsed and validated as a client's frame is (src/shared/signaling.ts).
import * as v from 'valibot'
import { publishFrameSchema, type PublishFrame } from '../../shared/signaling'
import { maxInstanceIdLength } from './config'

const clusterMessageSchema = v.object({
  v: v.literal(1),
  from: v.pipe(v.string(), v.minLength(1), v.maxLength(maxInstanceIdLength)),
  frame: publishFrameSchema,
})

export interface ClusterMessage {
  from: string
  frame: PublishFrame
}

/** Why a message from Redis was dropped. */
export type ClusterDrop = 'oversized' | 'invalid' | 'wrong-topic' | 'rate-limited'

/** The envelope's bytes beyond the frame's. */
const envelopeOverheadBytes = 256

export function encodeClusterMessage(from: string, frame: PublishFrame): string {
  return JSON.stringify({ v: 1, from, frame })
}

/**
 * Reads a message that came on `topic`'s channel; a client's frame may be `maxFrameBytes`, so
 * more than that and the envelope is refused before it is parsed.
 */
export function parseClusterMessage(bytes: Buffer, topic: string, maxFrameBytes: number): ClusterMessage | ClusterDrop {
  if (bytes.byteLength > maxFrameBytes + envelopeOverheadBytes) return 'oversized'
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch {
    return 'invalid'
  }
  const parsed = v.safeParse(clusterMessageSchema, json)
  if (!parsed.success) return 'invalid'
  if (parsed.output.frame.topic !== topic) return 'wrong-topic'
  return { from: parsed.output.from, frame: parsed.output.frame }
}

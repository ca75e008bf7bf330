import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { encodePublished, isEncryptionEnvelope, maxTopicLength, parseSignalingFrame, serverFrameSchema, SignalingFrameError, type PublishFrame } from '../../src/shared/signaling'

/** y-webrtc's envelope: varString 'AES-GCM', varUint8Array iv (12), varUint8Array cipher. */
interface EnvelopeShape {
  name?: string
  ivLength?: number
  cipherLength?: number
  declaredCipherLength?: number
}

function envelope(shape: EnvelopeShape = {}): string {
  const { name = 'AES-GCM', ivLength = 12, cipherLength = 32 } = shape
  const declaredCipherLength = shape.declaredCipherLength ?? cipherLength
  const bytes = [name.length, ...Buffer.from(name, 'latin1'), ivLength, ...Array<number>(ivLength).fill(7)]
  let length = declaredCipherLength
  do {
    bytes.push((length & 0x7f) | (length > 0x7f ? 0x80 : 0))
    length >>= 7
  } while (length > 0)
  bytes.push(...Array<number>(cipherLength).fill(9))
  return Buffer.from(bytes).toString('base64')
}

describe('parseSignalingFrame: good frames', () => {
  it('reads subscribe and unsubscribe', () => {
    expect(parseSignalingFrame('{"type":"subscribe","topics":["room-a","room-b"]}')).toEqual({
      type: 'subscribe',
      topics: ['room-a', 'room-b'],
    })
    expect(parseSignalingFrame('{"type":"unsubscribe","topics":["room-a"]}')).toEqual({
      type: 'unsubscribe',
      topics: ['room-a'],
    })
    expect(parseSignalingFrame('{"type":"subscribe","topics":[]}')).toEqual({ type: 'subscribe', topics: [] })
  })

  it('reads ping', () => {
    expect(parseSignalingFrame('{"type":"ping"}')).toEqual({ type: 'ping' })
  })

  it("reads y-webrtc's data of an open room; other fields of the frame and its data are dropped", () => {
    const signal = { type: 'offer', sdp: 'v=0\r\n', nested: [1, null, true] }
    const sent = { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'peer-1', to: 'peer-2', token: 12.5, signal, junk: 1 }, extra: 'dropped' }
    expect(parseSignalingFrame(JSON.stringify(sent))).toEqual({ type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'peer-1', to: 'peer-2', token: 12.5, signal } })
    for (const peerSignal of [
      { type: 'answer', sdp: 'v=0' },
      { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMLineIndex: 0, sdpMid: '0' } },
      { type: 'candidate', candidate: { candidate: '', sdpMLineIndex: null, sdpMid: null } },
      { type: 'renegotiate', renegotiate: true },
      { type: 'transceiverRequest', transceiverRequest: { kind: 'audio', init: {} } },
    ]) {
      const frame = { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', signal: peerSignal } }
      expect(parseSignalingFrame(JSON.stringify(frame)), JSON.stringify(peerSignal)).toEqual(frame)
    }
    const announce = { type: 'publish', topic: 'room-a', data: { type: 'announce', from: 'peer-1' } }
    expect(parseSignalingFrame(JSON.stringify(announce))).toEqual(announce)
  })

  it("reads a keyed room's encryption envelope without the key", () => {
    const encrypted = { type: 'publish', topic: 'room-b', data: envelope() }
    expect(parseSignalingFrame(JSON.stringify(encrypted))).toEqual(encrypted)
    expect(isEncryptionEnvelope(envelope({ cipherLength: 200 }))).toBe(true)
    expect(isEncryptionEnvelope(envelope({ cipherLength: 16 }))).toBe(true)
  })

  it('accepts a topic of the maximum length', () => {
    const topic = 'x'.repeat(maxTopicLength)
    expect(parseSignalingFrame(JSON.stringify({ type: 'subscribe', topics: [topic] }))).toEqual({
      type: 'subscribe',
      topics: [topic],
    })
  })
})

describe('parseSignalingFrame: bad frames', () => {
  const invalidJson = ['', 'hello', '{"type":', "{'type':'ping'}", '{"type":"ping"}}']
  it.each(invalidJson)('rejects %j as invalid JSON', (text) => {
    const result = parseSignalingFrame(text)
    expect(result).toBeInstanceOf(SignalingFrameError)
    expect(result).toMatchObject({ name: 'SignalingFrameError', reason: 'invalid-json' })
  })

  const invalidFrames: readonly unknown[] = [
    42,
    null,
    [],
    'ping',
    {},
    { type: 'pong' },
    { type: 'hello' },
    { type: 'subscribe' },
    { type: 'subscribe', topics: 'room-a' },
    { type: 'subscribe', topics: [''] },
    { type: 'subscribe', topics: [42] },
    { type: 'subscribe', topics: ['x'.repeat(maxTopicLength + 1)] },
    { type: 'unsubscribe', topics: [null] },
    { type: 'publish' },
    { type: 'publish', topic: '' },
    { type: 'publish', topic: 7, data: 'x' },
    { topic: 'room-a', data: 'x' },
    // What used to end the relay (`data: ''` to a keyed room the gateway joined), and its kin.
    { type: 'publish', topic: 'room-a' },
    { type: 'publish', topic: 'room-a', data: '' },
    { type: 'publish', topic: 'room-a', data: null },
    { type: 'publish', topic: 'room-a', data: 5 },
    { type: 'publish', topic: 'room-a', data: true },
    { type: 'publish', topic: 'room-a', data: [] },
    { type: 'publish', topic: 'room-a', data: {} },
    { type: 'publish', topic: 'room-a', data: 'AAAA' },
    { type: 'publish', topic: 'room-a', data: 'not base64!' },
    { type: 'publish', topic: 'room-a', data: envelope().slice(0, -4) },
    { type: 'publish', topic: 'room-a', data: envelope({ name: 'AES-CBC' }) },
    { type: 'publish', topic: 'room-a', data: envelope({ ivLength: 8 }) },
    { type: 'publish', topic: 'room-a', data: envelope({ cipherLength: 8 }) },
    { type: 'publish', topic: 'room-a', data: envelope({ cipherLength: 40, declaredCipherLength: 50 }) },
    { type: 'publish', topic: 'room-a', data: envelope({ cipherLength: 40, declaredCipherLength: 30 }) },
    { type: 'publish', topic: 'room-a', data: { type: 'announce' } },
    { type: 'publish', topic: 'room-a', data: { type: 'announce', from: 5 } },
    { type: 'publish', topic: 'room-a', data: { type: 'announce', from: 'x'.repeat(129) } },
    { type: 'publish', topic: 'room-a', data: { type: 'hello', from: 'a' } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b' } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', signal: { type: 'offer', sdp: 'v=0' } } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', signal: null } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', signal: 'offer' } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', signal: {} } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', signal: { type: 'offer' } } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', signal: { type: 'offer', sdp: 5 } } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', signal: { type: 'candidate', candidate: 'x' } } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', signal: { type: 'candidate', candidate: { sdpMid: '0' } } } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', signal: { renegotiate: 'yes' } } },
    { type: 'publish', topic: 'room-a', data: { type: 'signal', from: 'a', to: 'b', token: 'soon', signal: { renegotiate: true } } },
  ]
  it.each(invalidFrames)('rejects %j as an invalid frame', (value) => {
    const result = parseSignalingFrame(JSON.stringify(value))
    expect(result).toBeInstanceOf(SignalingFrameError)
    expect(result).toMatchObject({ name: 'SignalingFrameError', reason: 'invalid-frame' })
  })

  it('says what is wrong', () => {
    const result = parseSignalingFrame('{"type":"subscribe","topics":[""]}')
    expect(result).toBeInstanceOf(SignalingFrameError)
    expect((result as SignalingFrameError).message).toMatch(/topics/)
  })
})

describe('encodePublished', () => {
  it('adds the number of subscribers to the frame as parsed', () => {
    const frame: PublishFrame = { type: 'publish', topic: 'room-a', data: { type: 'announce', from: 'p1' } }
    const decoded: unknown = JSON.parse(encodePublished(frame, 2))
    expect(decoded).toEqual({ type: 'publish', topic: 'room-a', data: { type: 'announce', from: 'p1' }, clients: 2 })
    expect(v.is(serverFrameSchema, decoded)).toBe(true)
    const sent = parseSignalingFrame(JSON.stringify({ type: 'publish', topic: 'room-a', data: envelope(), clients: 999 }))
    if (sent instanceof SignalingFrameError || sent.type !== 'publish') throw new Error('fixture')
    expect(JSON.parse(encodePublished(sent, 3))).toEqual({ type: 'publish', topic: 'room-a', data: envelope(), clients: 3 })
  })

  it('describes the pong reply', () => {
    expect(v.is(serverFrameSchema, { type: 'pong' })).toBe(true)
    expect(v.is(serverFrameSchema, { type: 'publish', topic: 'room-a' })).toBe(false)
  })
})

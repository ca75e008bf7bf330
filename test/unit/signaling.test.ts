import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import {
  encodePublished,
  maxTopicLength,
  parseSignalingFrame,
  serverFrameSchema,
  SignalingFrameError,
  type PublishFrame,
} from '../../src/shared/signaling'

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

  it('passes every other field of a publish through untouched', () => {
    const sent = {
      type: 'publish',
      topic: 'room-a',
      data: { type: 'signal', from: 'peer-1', to: 'peer-2', signal: { sdp: 'v=0\r\n', nested: [1, null, true] } },
      extra: 'kept',
    }
    expect(parseSignalingFrame(JSON.stringify(sent))).toEqual(sent)
    const encrypted = { type: 'publish', topic: 'room-b', data: 'AAECAwQ=' }
    expect(parseSignalingFrame(JSON.stringify(encrypted))).toEqual(encrypted)
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
  it('adds the number of subscribers, replacing any sent value, and keeps the rest', () => {
    const frame: PublishFrame = { type: 'publish', topic: 'room-a', data: { from: 'p1' }, clients: 999 }
    const decoded: unknown = JSON.parse(encodePublished(frame, 2))
    expect(decoded).toEqual({ type: 'publish', topic: 'room-a', data: { from: 'p1' }, clients: 2 })
    expect(v.is(serverFrameSchema, decoded)).toBe(true)
  })

  it('describes the pong reply', () => {
    expect(v.is(serverFrameSchema, { type: 'pong' })).toBe(true)
    expect(v.is(serverFrameSchema, { type: 'publish', topic: 'room-a' })).toBe(false)
  })
})

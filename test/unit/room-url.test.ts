import { describe, expect, it } from 'vitest'
import { RoomUrlError } from '../../src/shared/errors'
import { defaultPeerTimeoutMs, parseRoomUrl, shareLink } from '../../src/swarm/room/room-url'

describe('room URL', () => {
  it('reads room, key, engine and model', () => {
    const config = parseRoomUrl('http://127.0.0.1:8787/?room=lab&engine=wasm&model=http%3A%2F%2Fh%2Fm.gguf#key=s3cret')
    expect(config).toMatchObject({ room: 'lab', key: 's3cret', generated: false, engine: 'wasm', model: 'http://h/m.gguf', warnings: [] })
    expect(config.signalingUrl).toBe('ws://127.0.0.1:8787/signal')
  })

  it('uses wss behind https', () => {
    expect(parseRoomUrl('https://swarm.example/?room=a').signalingUrl).toBe('wss://swarm.example/signal')
  })

  it('an empty or missing key is an open room', () => {
    expect(parseRoomUrl('http://h/?room=a').key).toBeNull()
    expect(parseRoomUrl('http://h/?room=a#key=').key).toBeNull()
  })

  it('no room: makes a random room with a random key', () => {
    const a = parseRoomUrl('http://h/')
    const b = parseRoomUrl('http://h/')
    expect(a.generated).toBe(true)
    expect(a.room).toMatch(/^swarm-[a-z0-9]{8}$/)
    expect(a.key?.length).toBe(22)
    expect(a.room).not.toBe(b.room)
  })

  it('rejects bad room names with a named error', () => {
    for (const room of ['', '-x', 'a b', 'x'.repeat(65), '../etc', 'ü']) {
      expect(() => parseRoomUrl(`http://h/?room=${encodeURIComponent(room)}`)).toThrow(RoomUrlError)
    }
  })

  it('an unknown engine or a bad number becomes a warning and the default', () => {
    const config = parseRoomUrl('http://h/?room=a&engine=cuda&peerTimeoutMs=nope')
    expect(config.engine).toBe('auto')
    expect(config.peerTimeoutMs).toBe(defaultPeerTimeoutMs)
    expect(config.warnings).toHaveLength(2)
    expect(config.warnings[0]).toContain('unknown engine "cuda"')
  })

  it('a share link round-trips', () => {
    const link = shareLink('http://h:1', { room: 'lab', key: 'k&=y' })
    expect(parseRoomUrl(link)).toMatchObject({ room: 'lab', key: 'k&=y' })
  })
})

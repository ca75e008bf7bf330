import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { RelayConfigError } from '../../src/relay/config'
import { loadSwarmConfig, parseRooms, roomOfModel } from '../../src/relay/gateway/config'
import { loadRelaySigner, RelayKeyError } from '../../src/relay/gateway/identity'
import { toTaskRequest } from '../../src/relay/gateway/translate'
import { ApiError } from '../../src/relay/v1/errors'
import { loadV1Config } from '../../src/relay/v1/config'

describe('RELAY_ROOMS', () => {
  it('reads names and keys, comma-separated, spaces trimmed', () => {
    const problems: string[] = []
    expect(parseRooms(' lobby , team#s3cret#with-hash,open.room ,', problems)).toEqual([
      { name: 'lobby', key: null },
      { name: 'team', key: 's3cret#with-hash' },
      { name: 'open.room', key: null },
    ])
    expect(problems).toEqual([])
  })

  it('names each bad room: invalid name, empty key, a room twice', () => {
    const problems: string[] = []
    expect(parseRooms('-bad,ok#,good,good#k,sp ace', problems)).toEqual([{ name: 'good', key: null }])
    expect(problems).toHaveLength(4)
    expect(problems[0]).toMatch(/"-bad" is not valid/)
    expect(problems[1]).toMatch(/key of room ok/)
    expect(problems[2]).toMatch(/room good is listed twice/)
    expect(problems[3]).toMatch(/"sp ace" is not valid/)
  })

  it('keeps the identity under a default data directory, the replica only under RELAY_DATA_DIR', () => {
    const problems: string[] = []
    expect(loadSwarmConfig({ RELAY_ROOMS: 'a', HOME: '/home/u' }, '127.0.0.1', '/srv', problems)).toMatchObject({
      keyFile: '/home/u/.local/share/edgeswarm-relay/relay-key.json',
      dataDir: '/home/u/.local/share/edgeswarm-relay',
      replica: null,
    })
    expect(loadSwarmConfig({ RELAY_ROOMS: 'a', HOME: '/home/u', XDG_DATA_HOME: '/xdg' }, '127.0.0.1', '/srv', problems)).toMatchObject({ dataDir: '/xdg/edgeswarm-relay', replica: null })
    // A relative XDG_DATA_HOME is to be ignored (the XDG spec).
    expect(loadSwarmConfig({ RELAY_ROOMS: 'a', HOME: '/home/u', XDG_DATA_HOME: 'rel' }, '127.0.0.1', '/srv', problems)?.dataDir).toBe('/home/u/.local/share/edgeswarm-relay')
    expect(loadSwarmConfig({ RELAY_ROOMS: 'a', RELAY_DATA_DIR: 'data', HOME: '/home/u' }, '127.0.0.1', '/srv', problems)).toMatchObject({
      keyFile: '/srv/data/relay-key.json',
      dataDir: '/srv/data',
      replica: { maxBytes: 64 * 1024 * 1024 },
    })
    expect(loadSwarmConfig({ RELAY_ROOMS: 'a', RELAY_DATA_DIR: '/d', RELAY_KEY_FILE: '/k.json', RELAY_REPLICA_MAX_BYTES: '100000' }, '127.0.0.1', '/srv', problems)).toMatchObject({
      keyFile: '/k.json',
      dataDir: '/d',
      replica: { maxBytes: 100_000 },
    })
    expect(problems).toEqual([])
    loadSwarmConfig({ RELAY_ROOMS: 'a', RELAY_DATA_DIR: '/d', RELAY_REPLICA_MAX_BYTES: '10' }, '127.0.0.1', '/srv', problems)
    expect(problems).toEqual([expect.stringMatching(/^RELAY_REPLICA_MAX_BYTES="10": expected an integer of at least 65536/)])
  })

  it('is off without rooms, and signals through the relay itself on its PORT', () => {
    const problems: string[] = []
    expect(loadSwarmConfig({}, '127.0.0.1', '/srv', problems)).toBeNull()
    expect(loadSwarmConfig({ RELAY_ROOMS: 'a' }, '0.0.0.0', '/srv', problems)).toEqual({
      rooms: [{ name: 'a', key: null }],
      keyFile: null,
      dataDir: null,
      replica: null,
      signalingUrl: 'ws://127.0.0.1:8787/signal',
      peerWaitMs: 5_000,
      linkTimeoutMs: 15_000,
      net: { iceServers: [{ urls: 'stun:stun.l.google.com:19302' }], signalingUrls: [], turn: null, perMin: 60 },
    })
    expect(loadSwarmConfig({ RELAY_ROOMS: 'a', RELAY_TURN_URLS: 'turn:127.0.0.1:3478', RELAY_TURN_SECRET: 's'.repeat(16) }, '127.0.0.1', '/srv', problems)?.net?.turn).toEqual({
      urls: ['turn:127.0.0.1:3478'],
      secret: 's'.repeat(16),
      ttlS: 86_400,
    })
    expect(
      loadSwarmConfig({ RELAY_ROOMS: 'a', PORT: '9000', RELAY_KEY_FILE: 'keys/relay.json', RELAY_SWARM_WAIT_MS: '250', RELAY_SWARM_LINK_TIMEOUT_MS: '3000' }, '::', '/srv', problems),
    ).toMatchObject({
      keyFile: '/srv/keys/relay.json',
      signalingUrl: 'ws://[::1]:9000/signal',
      peerWaitMs: 250,
      linkTimeoutMs: 3_000,
    })
    expect(loadSwarmConfig({ RELAY_ROOMS: 'a', RELAY_SWARM_SIGNALING_URL: 'wss://signal.example/signal' }, '127.0.0.1', '/srv', problems)?.signalingUrl).toBe('wss://signal.example/signal')
    expect(problems).toEqual([])
  })

  it('fails the start with every problem listed', () => {
    expect(() => loadV1Config({ RELAY_ROOMS: 'a', PORT: '0' })).toThrow(/fixed PORT/)
    expect(() => loadV1Config({ RELAY_ROOMS: 'a', RELAY_SWARM_WAIT_MS: 'soon', RELAY_SWARM_SIGNALING_URL: 'http://x' })).toThrow(RelayConfigError)
    expect(() => loadV1Config({ RELAY_ROOMS: 'a', PORT: '1', RELAY_SWARM_LINK_TIMEOUT_MS: '10' })).toThrow(/RELAY_SWARM_LINK_TIMEOUT_MS/)
    let thrown: unknown = null
    try {
      loadV1Config({ RELAY_ROOMS: '!,a', RELAY_SWARM_WAIT_MS: 'soon', RELAY_SWARM_SIGNALING_URL: 'http://x' })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(RelayConfigError)
    expect((thrown as RelayConfigError).problems).toHaveLength(3)
    expect(loadV1Config({}).swarm).toBeNull()
  })

  it('maps models to rooms: swarm is the first room', () => {
    const rooms = parseRooms('first,second#k', [])
    expect(roomOfModel('swarm', rooms)?.name).toBe('first')
    expect(roomOfModel('swarm/second', rooms)?.name).toBe('second')
    expect(roomOfModel('swarm/third', rooms)).toBeNull()
    expect(roomOfModel('qwen', rooms)).toBeNull()
    expect(roomOfModel('swarm', [])).toBeNull()
  })
})

describe('requests as tasks', () => {
  const base = { model: 'swarm', max_tokens: 32 }

  it('keeps what browser nodes honour; developer is system, text parts are joined', () => {
    expect(
      toTaskRequest({
        ...base,
        messages: [
          { role: 'developer', content: 'be brief' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'hel' },
              { type: 'text', text: 'lo' },
            ],
          },
          { role: 'assistant', content: null },
        ],
        temperature: 0.2,
        top_p: null,
        stop: 'END',
        seed: 7,
      }),
    ).toEqual({
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: '' },
      ],
      max_tokens: 32,
      temperature: 0.2,
      seed: 7,
      stop: ['END'],
    })
  })

  it('refuses what they cannot take with a 400 that names the field', () => {
    const tooLong = () => toTaskRequest({ ...base, messages: [{ role: 'user', content: 'hi' }], stop: ['x'.repeat(100)] })
    expect(tooLong).toThrow(ApiError)
    expect(tooLong).toThrow(/stop/)
    const big = () => toTaskRequest({ ...base, max_tokens: 40_000, messages: [{ role: 'user', content: 'hi' }] })
    try {
      big()
    } catch (error) {
      expect(error).toMatchObject({ status: 400, param: 'max_tokens' })
    }
    expect(big).toThrow(ApiError)
  })
})

describe('the relay identity', () => {
  let dir = ''
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true })
    dir = ''
  })

  it('is fresh in memory without a key file', async () => {
    const [a, b] = await Promise.all([loadRelaySigner(null), loadRelaySigner(null)])
    expect(a.nodeId).toMatch(/^[0-9a-f]{20}$/)
    expect(a.nodeId).not.toBe(b.nodeId)
  })

  it('is written to the key file (0600) once and read back the same', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-key-'))
    const keyFile = path.join(dir, 'relay-key.json')
    const first = await loadRelaySigner(keyFile)
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
    const again = await loadRelaySigner(keyFile)
    expect(again.nodeId).toBe(first.nodeId)
    expect(again.publicKey).toBe(first.publicKey)
    expect(JSON.parse(await readFile(keyFile, 'utf8'))).toMatchObject({ v: 1 })
  })

  it('refuses a corrupt key file instead of replacing it', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-key-'))
    const keyFile = path.join(dir, 'relay-key.json')
    await writeFile(keyFile, '{"v":1,"publicKey":{},"privateKey":{}}')
    await expect(loadRelaySigner(keyFile)).rejects.toThrow(RelayKeyError)
    expect(await readFile(keyFile, 'utf8')).toContain('"v":1')
  })
})

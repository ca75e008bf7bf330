import * as v from 'valibot'
import { NetConfigSchema } from '../../src/shared/net-config'
import { spawn } from 'node:child_process'
import { mkdtemp, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest'
import { WebSocket, type ClientOptions, type RawData } from 'ws'
import { loadConfig, RelayConfigError, type RelayConfig } from '../../src/relay/config'
import { isNotModified, parseRange, ifRangeAllows, etagOf } from '../../src/relay/http-cache'
import { createLogger } from '../../src/relay/log'
import { measureMemory } from '../../src/relay/memory'
import { acceptedEncodings, precompressDir } from '../../src/relay/precompressed'
import { createRelay, type Relay } from '../../src/relay/server'

const repoRoot = path.resolve(import.meta.dirname, '../..')
const modelBytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251))

let tempRoot: string
let staticDir: string

beforeAll(async () => {
  tempRoot = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-relay-'))
  staticDir = path.join(tempRoot, 'dist')
  await mkdir(path.join(staticDir, 'assets'), { recursive: true })
  await mkdir(path.join(staticDir, 'models'))
  await writeFile(path.join(tempRoot, 'secret.txt'), 'TOP-SECRET')
  await writeFile(path.join(staticDir, '.env'), 'HIDDEN=1')
  await writeFile(path.join(staticDir, 'index.html'), '<!doctype html><title>edgeswarm</title>')
  await writeFile(path.join(staticDir, 'sw.js'), 'self.addEventListener("fetch", () => {})')
  await writeFile(path.join(staticDir, 'manifest.webmanifest'), '{"name":"edgeswarm"}')
  await writeFile(path.join(staticDir, 'assets', 'index-3f9a1c2b.js'), 'console.log(1)')
  await writeFile(path.join(staticDir, 'assets', 'engine-77aa.wasm'), Buffer.from([0, 97, 115, 109]))
  await writeFile(path.join(staticDir, 'models', 'tiny.gguf'), modelBytes)
})

afterAll(async () => {
  await rm(tempRoot, { recursive: true, force: true })
})

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

interface Started {
  relay: Relay
  baseUrl: string
  signalUrl: string
  port: number
}

async function startRelay(env: Record<string, string> = {}): Promise<Started> {
  const config: RelayConfig = loadConfig({ PORT: '0', RELAY_STATIC_DIR: staticDir, RELAY_LOG: 'silent', ...env })
  const relay = createRelay(config, { shutdownGraceMs: 500 })
  const { port } = await relay.listen()
  cleanups.push(() => relay.close())
  return { relay, port, baseUrl: `http://127.0.0.1:${port}`, signalUrl: `ws://127.0.0.1:${port}/signal` }
}

interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** A request with the path sent exactly as written (fetch would normalize `..`). */
async function rawRequest(port: number, requestPath: string, method = 'GET'): Promise<RawResponse> {
  const response = await bytesRequest(port, requestPath, {}, method)
  return { ...response, body: response.body.toString('utf8') }
}

/** A request with exactly these headers; the body as the bytes that came (nothing decoded). */
function bytesRequest(port: number, requestPath: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: requestPath, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadlineMs) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

type Message = Record<string, unknown>

interface CloseInfo {
  code: number
  reason: string
}

interface TestClient {
  ws: WebSocket
  messages: Message[]
  closed: Promise<CloseInfo>
  send(frame: unknown): void
  /** Sends a ping frame and waits for the pong: every frame sent before it has been handled. */
  sync(): Promise<void>
  waitFor(predicate: (message: Message) => boolean): Promise<Message>
}

const clients: WebSocket[] = []
afterEach(() => {
  for (const ws of clients.splice(0)) ws.terminate()
})

async function connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, options)
  clients.push(ws)
  const messages: Message[] = []
  ws.on('message', (data) => messages.push(JSON.parse(textOf(data)) as Message))
  const closed = new Promise<CloseInfo>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }))
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  ws.on('error', () => undefined)
  const waitFor = async (predicate: (message: Message) => boolean): Promise<Message> => {
    await waitUntil(() => messages.some(predicate))
    return messages.find(predicate) as Message
  }
  return {
    ws,
    messages,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    async sync() {
      const pongsBefore = messages.filter((message) => message.type === 'pong').length
      ws.send(JSON.stringify({ type: 'ping' }))
      await waitUntil(() => messages.filter((message) => message.type === 'pong').length > pongsBefore)
    },
    waitFor,
  }
}

async function subscribedPair(signalUrl: string, topic: string): Promise<[TestClient, TestClient]> {
  const a = await connect(signalUrl)
  const b = await connect(signalUrl)
  for (const client of [a, b]) {
    client.send({ type: 'subscribe', topics: [topic] })
    await client.sync()
  }
  return [a, b]
}

/** An open room's y-webrtc announce, whose sender id serves as a marker. */
const announce = (marker: string): Message => ({ type: 'announce', from: marker })

const isPublish = (marker: string) => (message: Message) => message.type === 'publish' && (message.data as Message | undefined)?.from === marker

describe('config', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({}, '/srv/app')).toEqual({
      port: 8787,
      host: '127.0.0.1',
      staticDir: '/srv/app/dist',
      modelsDir: null,
      logLevel: 'info',
      maxFrameBytes: 65_536,
      maxTopicsPerConn: 32,
      maxConnPerIp: 64,
      connectsPerSPerIp: 10,
      maxConnections: 4096,
      maxTopicSubscribers: 256,
      idleTimeoutMs: 60_000,
      signalFramesPerS: 50,
      signalFrameBurst: 200,
      signalBytesPerS: 262_144,
      signalByteBurst: 1_048_576,
      publicHosts: [],
      signalOrigins: [],
      trustProxy: [],
      net: { iceServers: [{ urls: 'stun:stun.l.google.com:19302' }], signalingUrls: [], turn: null, perMin: 60 },
      cluster: { redisUrl: null, prefix: 'edgeswarm:', instanceId: expect.stringMatching(/^[A-Za-z0-9_.-]+-\d+-[0-9a-f]{6}$/) as unknown, framesPerSPerInstance: 5000 },
    })
  })

  it('reads every variable', () => {
    const config = loadConfig(
      {
        PORT: '9000',
        HOST: '0.0.0.0',
        RELAY_STATIC_DIR: '/var/www',
        RELAY_LOG: 'debug',
        RELAY_MAX_FRAME_BYTES: '2048',
        RELAY_MAX_TOPICS: '3',
        RELAY_MAX_CONN_PER_IP: '5',
        RELAY_IDLE_TIMEOUT_MS: '1500',
        RELAY_MODELS_DIR: 'models',
        RELAY_MAX_CONNECTIONS: '100',
        RELAY_CONNECTS_PER_S_PER_IP: '3',
        RELAY_MAX_TOPIC_SUBSCRIBERS: '7',
        RELAY_SIGNAL_FRAMES_PER_S: '10',
        RELAY_SIGNAL_FRAME_BURST: '20',
        RELAY_SIGNAL_BYTES_PER_S: '4096',
        RELAY_SIGNAL_BYTE_BURST: '8192',
        RELAY_PUBLIC_HOSTS: 'relay.example.org, .swarm.example',
        RELAY_SIGNAL_ORIGINS: 'https://app.example.org',
        RELAY_TRUST_PROXY: '10.0.0.1, fd00::/8',
        RELAY_ICE_SERVERS: '[{"urls":["stun:stun.example.org:3478"]},{"urls":"turn:turn.example.org:3478","username":"u","credential":"c"}]',
        RELAY_SIGNALING_URLS: 'wss://relay-b.example.org/signal, ws://10.0.0.2:8787/signal',
        RELAY_REDIS_URL: 'redis://redis.internal:6379/2',
        RELAY_REDIS_PREFIX: 'swarm-a:',
        RELAY_INSTANCE_ID: 'relay-1',
        RELAY_CLUSTER_FRAMES_PER_S: '900',
      },
      '/srv/app',
    )
    expect(config).toEqual({
      port: 9000,
      host: '0.0.0.0',
      staticDir: '/var/www',
      modelsDir: '/srv/app/models',
      logLevel: 'debug',
      maxFrameBytes: 2048,
      maxTopicsPerConn: 3,
      maxConnPerIp: 5,
      connectsPerSPerIp: 3,
      maxConnections: 100,
      maxTopicSubscribers: 7,
      idleTimeoutMs: 1500,
      signalFramesPerS: 10,
      signalFrameBurst: 20,
      signalBytesPerS: 4096,
      signalByteBurst: 8192,
      publicHosts: ['relay.example.org', '.swarm.example'],
      signalOrigins: ['https://app.example.org'],
      trustProxy: ['10.0.0.1', 'fd00::/8'],
      net: {
        iceServers: [{ urls: ['stun:stun.example.org:3478'] }, { urls: 'turn:turn.example.org:3478', username: 'u', credential: 'c' }],
        signalingUrls: ['wss://relay-b.example.org/signal', 'ws://10.0.0.2:8787/signal'],
        turn: null,
        perMin: 60,
      },
      cluster: { redisUrl: 'redis://redis.internal:6379/2', prefix: 'swarm-a:', instanceId: 'relay-1', framesPerSPerInstance: 900 },
    })
  })

  it('lists every invalid value in one RelayConfigError', () => {
    const env = {
      PORT: '70000',
      RELAY_LOG: 'loud',
      RELAY_MAX_TOPICS: '0',
      RELAY_IDLE_TIMEOUT_MS: '1e3',
      RELAY_MAX_FRAME_BYTES: '-1',
      RELAY_SIGNAL_BYTE_BURST: '1000',
      RELAY_PUBLIC_HOSTS: 'http://x.example',
      RELAY_SIGNAL_ORIGINS: 'x.example',
      RELAY_TRUST_PROXY: '10.0.0.0/40',
      RELAY_ICE_SERVERS: '[{"urls":"http://not-ice"}]',
      RELAY_SIGNALING_URLS: 'https://relay-b.example.org/signal',
    }
    expect(() => loadConfig(env)).toThrow(RelayConfigError)
    try {
      loadConfig(env)
    } catch (error) {
      expect(error).toBeInstanceOf(RelayConfigError)
      const { problems, name } = error as RelayConfigError
      expect(name).toBe('RelayConfigError')
      expect(problems.map((problem) => /^[A-Z0-9_]+/.exec(problem)?.[0])).toEqual([
        'PORT',
        'RELAY_LOG',
        'RELAY_MAX_FRAME_BYTES',
        'RELAY_MAX_TOPICS',
        'RELAY_IDLE_TIMEOUT_MS',
        'RELAY_SIGNAL_BYTE_BURST',
        'RELAY_PUBLIC_HOSTS',
        'RELAY_SIGNAL_ORIGINS',
        'RELAY_TRUST_PROXY',
        'RELAY_ICE_SERVERS',
        'RELAY_SIGNALING_URLS',
      ])
    }
  })
})

describe('structured log', () => {
  it('writes one JSON object per line and hides debug at info', () => {
    const lines: string[] = []
    const log = createLogger('info', (line) => lines.push(line))
    log.debug('hidden')
    log.info('connection closed', { id: 3, msg: 'cannot override', error: new TypeError('boom') })
    expect(lines).toHaveLength(1)
    const record = JSON.parse(lines[0] ?? '') as Message
    expect(record).toMatchObject({ level: 'info', msg: 'connection closed', id: 3, error: { name: 'TypeError', message: 'boom' } })
    expect(typeof record.t).toBe('string')
    const silent: string[] = []
    createLogger('silent', (line) => silent.push(line)).error('nothing')
    expect(silent).toEqual([])
  })
})

describe('http caching helpers', () => {
  const file = { sizeBytes: 1000, mtimeMs: Date.UTC(2025, 0, 1, 12, 0, 0, 500) }

  it('parses byte ranges', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 })
    expect(parseRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 })
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 })
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 })
    expect(parseRange('bytes=500-5000', 1000)).toEqual({ start: 500, end: 999 })
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable')
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable')
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeUndefined()
    expect(parseRange('bytes=9-1', 1000)).toBeUndefined()
    expect(parseRange('items=0-1', 1000)).toBeUndefined()
    expect(parseRange(undefined, 1000)).toBeUndefined()
  })

  it('answers conditional requests', () => {
    const etag = etagOf(file)
    expect(isNotModified(etag, undefined, file)).toBe(true)
    expect(isNotModified(`"other", W/${etag}`, undefined, file)).toBe(true)
    expect(isNotModified('"other"', new Date(file.mtimeMs + 60_000).toUTCString(), file)).toBe(false)
    expect(isNotModified(undefined, new Date(file.mtimeMs).toUTCString(), file)).toBe(true)
    expect(isNotModified(undefined, new Date(file.mtimeMs - 60_000).toUTCString(), file)).toBe(false)
    expect(ifRangeAllows(etag, file)).toBe(true)
    expect(ifRangeAllows('"stale"', file)).toBe(false)
    expect(ifRangeAllows(`W/${etag}`, file)).toBe(false)
  })
})

describe('static app', () => {
  it('sends the cross-origin isolation headers and caches hashed assets forever', async () => {
    const { baseUrl } = await startRelay()
    const asset = await fetch(`${baseUrl}/assets/index-3f9a1c2b.js`)
    expect(asset.status).toBe(200)
    expect(await asset.text()).toBe('console.log(1)')
    expect(asset.headers.get('cross-origin-opener-policy')).toBe('same-origin')
    expect(asset.headers.get('cross-origin-embedder-policy')).toBe('require-corp')
    expect(asset.headers.get('cross-origin-resource-policy')).toBe('same-origin')
    expect(asset.headers.get('x-content-type-options')).toBe('nosniff')
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')

    for (const [urlPath, contentType] of [
      ['/', 'text/html; charset=utf-8'],
      ['/index.html', 'text/html; charset=utf-8'],
      ['/sw.js', 'text/javascript; charset=utf-8'],
      ['/manifest.webmanifest', 'application/manifest+json'],
      ['/models/tiny.gguf', 'application/octet-stream'],
    ] as const) {
      const response = await fetch(`${baseUrl}${urlPath}`)
      await response.arrayBuffer()
      expect(response.status, urlPath).toBe(200)
      expect(response.headers.get('content-type'), urlPath).toBe(contentType)
      expect(response.headers.get('cache-control'), urlPath).toBe('no-cache')
      expect(response.headers.get('cross-origin-embedder-policy'), urlPath).toBe('require-corp')
    }
    const wasm = await fetch(`${baseUrl}/assets/engine-77aa.wasm`)
    await wasm.arrayBuffer()
    expect(wasm.headers.get('content-type')).toBe('application/wasm')
  })

  it('falls back to index.html for extension-less routes only', async () => {
    const { baseUrl } = await startRelay()
    const route = await fetch(`${baseUrl}/rooms/some-room?x=1`)
    expect(route.status).toBe(200)
    expect(await route.text()).toContain('<title>edgeswarm</title>')
    expect(route.headers.get('cache-control')).toBe('no-cache')
    const missingAsset = await fetch(`${baseUrl}/assets/missing-123.js`)
    await missingAsset.arrayBuffer()
    expect(missingAsset.status).toBe(404)
    expect(missingAsset.headers.get('cross-origin-opener-policy')).toBe('same-origin')
  })

  it('never serves a file outside the folder, or a hidden one', async () => {
    const { port } = await startRelay()
    for (const requestPath of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/%2e%2e%2fsecret',
      '/.env',
      '/index.html%00.js',
      '/%E0%A4%A',
    ]) {
      const response = await rawRequest(port, requestPath)
      expect(response.body, requestPath).not.toContain('TOP-SECRET')
      expect(response.body, requestPath).not.toContain('HIDDEN')
      expect(response.status, requestPath).toBe(404)
    }
  })

  it('answers 405 to anything but GET and HEAD', async () => {
    const { baseUrl } = await startRelay()
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const response = await fetch(`${baseUrl}/index.html`, { method })
      await response.arrayBuffer()
      expect(response.status, method).toBe(405)
      expect(response.headers.get('allow')).toBe('GET, HEAD')
    }
    const head = await fetch(`${baseUrl}/index.html`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe('39')
    expect(await head.text()).toBe('')
  })

  it('answers 304 to a matching ETag or an unchanged date', async () => {
    const { baseUrl } = await startRelay()
    const first = await fetch(`${baseUrl}/index.html`)
    await first.arrayBuffer()
    const etag = first.headers.get('etag')
    const lastModified = first.headers.get('last-modified')
    expect(etag).toBeTruthy()
    expect(lastModified).toBeTruthy()
    const byTag = await fetch(`${baseUrl}/index.html`, { headers: { 'If-None-Match': etag ?? '' } })
    expect(byTag.status).toBe(304)
    expect(byTag.headers.get('cross-origin-embedder-policy')).toBe('require-corp')
    const byDate = await fetch(`${baseUrl}/index.html`, { headers: { 'If-Modified-Since': lastModified ?? '' } })
    expect(byDate.status).toBe(304)
    const changed = await fetch(`${baseUrl}/index.html`, { headers: { 'If-None-Match': '"stale"' } })
    expect(changed.status).toBe(200)
    await changed.arrayBuffer()
  })

  it('serves byte ranges of large files', async () => {
    const { baseUrl } = await startRelay()
    const partial = await fetch(`${baseUrl}/models/tiny.gguf`, { headers: { Range: 'bytes=1000-1999' } })
    expect(partial.status).toBe(206)
    expect(partial.headers.get('content-range')).toBe(`bytes 1000-1999/${modelBytes.length}`)
    expect(Buffer.from(await partial.arrayBuffer())).toEqual(modelBytes.subarray(1000, 2000))
    const tail = await fetch(`${baseUrl}/models/tiny.gguf`, { headers: { Range: 'bytes=-10' } })
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(modelBytes.subarray(-10))
    const beyond = await fetch(`${baseUrl}/models/tiny.gguf`, { headers: { Range: `bytes=${modelBytes.length}-` } })
    await beyond.arrayBuffer()
    expect(beyond.status).toBe(416)
    expect(beyond.headers.get('content-range')).toBe(`bytes */${modelBytes.length}`)
    const stale = await fetch(`${baseUrl}/models/tiny.gguf`, { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } })
    expect(stale.status).toBe(200)
    expect((await stale.arrayBuffer()).byteLength).toBe(modelBytes.length)
  })

  it('explains how to build the app when the folder is missing', async () => {
    const { baseUrl } = await startRelay({ RELAY_STATIC_DIR: path.join(tempRoot, 'no-such-dir') })
    const response = await fetch(`${baseUrl}/`)
    expect(response.status).toBe(503)
    expect(await response.text()).toContain('npm run build')
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin')
  })
})

describe('precompressed assets', () => {
  const wasmPath = (): string => path.join(staticDir, 'assets', 'net-5e1f.wasm')
  const original = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) % 13))

  beforeAll(async () => {
    await writeFile(wasmPath(), original)
    await precompressDir(path.join(staticDir, 'assets'))
  })

  it('sends brotli or gzip to clients that accept it, the file itself otherwise, each with its own validator', async () => {
    const { port } = await startRelay()
    const br = await bytesRequest(port, '/assets/net-5e1f.wasm', { 'accept-encoding': 'gzip, deflate, br' })
    expect(br.headers['content-encoding']).toBe('br')
    expect(br.headers['content-type']).toBe('application/wasm')
    expect(br.headers.vary).toBe('Accept-Encoding')
    expect(br.headers['cross-origin-embedder-policy']).toBe('require-corp')
    expect(br.body.length).toBeLessThan(original.length / 10)
    expect(brotliDecompressSync(br.body).equals(original)).toBe(true)
    const gzip = await bytesRequest(port, '/assets/net-5e1f.wasm', { 'accept-encoding': 'gzip, br;q=0' })
    expect(gzip.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gzip.body).equals(original)).toBe(true)
    const plain = await bytesRequest(port, '/assets/net-5e1f.wasm')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.headers.vary).toBe('Accept-Encoding')
    expect(plain.body.equals(original)).toBe(true)
    expect(new Set([br.headers.etag, gzip.headers.etag, plain.headers.etag]).size).toBe(3)
    const revalidated = await bytesRequest(port, '/assets/net-5e1f.wasm', { 'accept-encoding': 'br', 'if-none-match': br.headers.etag ?? '' })
    expect(revalidated.status).toBe(304)
    // A byte range is a range of the file itself.
    const range = await bytesRequest(port, '/assets/net-5e1f.wasm', { 'accept-encoding': 'br', range: 'bytes=100-199' })
    expect(range.status).toBe(206)
    expect(range.headers['content-encoding']).toBeUndefined()
    expect(range.body.equals(original.subarray(100, 200))).toBe(true)
  })

  it('never serves a sibling older than its file', async () => {
    const { port } = await startRelay()
    const later = new Date(Date.now() + 60_000)
    await utimes(wasmPath(), later, later)
    const response = await bytesRequest(port, '/assets/net-5e1f.wasm', { 'accept-encoding': 'br, gzip' })
    expect(response.headers['content-encoding']).toBeUndefined()
    expect(response.body.equals(original)).toBe(true)
  })

  it('reads Accept-Encoding with its q-values', () => {
    expect([...acceptedEncodings('gzip;q=0.5, BR, identity;q=0')]).toEqual(['gzip', 'br'])
    expect(acceptedEncodings(undefined).size).toBe(0)
  })
})

describe('healthz', () => {
  it('reports status, version, uptime, rooms, connections and drops', async () => {
    const { baseUrl, signalUrl, relay } = await startRelay()
    await subscribedPair(signalUrl, 'health-room')
    const response = await fetch(`${baseUrl}/healthz`)
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const health = (await response.json()) as Message
    const { version } = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }
    expect(Object.keys(health).sort()).toEqual(['backends', 'cluster', 'connections', 'dropped', 'faults', 'ok', 'rooms', 'status', 'uptimeS', 'v1', 'version'])
    expect(health).toMatchObject({ ok: true, status: 'ok', version, rooms: 1, connections: 2, faults: { unhandledRejections: 0, uncaughtExceptions: 0 } })
    expect(typeof health.uptimeS).toBe('number')
    expect(health.dropped).toMatchObject({ 'invalid-json': 0, binary: 0, oversized: 0 })
    const stats = relay.stats()
    expect(stats).toMatchObject({ connections: 2, rooms: 1 })
    expect(stats.rssBytes).toBeGreaterThan(0)
    expect(stats.heapUsedBytes).toBeGreaterThan(0)
    expect(measureMemory().rssBytes).toBeGreaterThan(0)
  })
})

describe('net.json', () => {
  it("tells a page the ICE servers and the signaling URLs, this relay's own first", async () => {
    const { baseUrl, port } = await startRelay({ RELAY_SIGNALING_URLS: 'wss://relay-b.example.org/signal' })
    const response = await fetch(`${baseUrl}/net.json?node=0123456789abcdef0123`)
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = v.parse(NetConfigSchema, await response.json())
    expect(body).toEqual({
      v: 1,
      iceServers: [{ urls: 'stun:stun.l.google.com:19302' }],
      expiresAt: null,
      turn: false,
      signalingUrls: [`ws://127.0.0.1:${port}/signal`, 'wss://relay-b.example.org/signal'],
    })
    expect((await fetch(`${baseUrl}/net.json`, { method: 'POST' })).status).toBe(405)
  })
})

describe('signaling', () => {
  it('delivers a publish to every subscriber, the sender included, with the number of clients', async () => {
    const { signalUrl } = await startRelay()
    const [a, b] = await subscribedPair(signalUrl, 'room-1')
    a.send({ type: 'publish', topic: 'room-1', data: announce('hello'), extra: 'not forwarded' })
    const atB = await b.waitFor(isPublish('hello'))
    const atA = await a.waitFor(isPublish('hello'))
    for (const message of [atA, atB]) {
      expect(message).toEqual({ type: 'publish', topic: 'room-1', data: announce('hello'), clients: 2 })
    }
    const outsider = await connect(signalUrl)
    outsider.send({ type: 'publish', topic: 'room-1', data: announce('from-outside') })
    await outsider.sync()
    expect(await b.waitFor(isPublish('from-outside'))).toMatchObject({ clients: 2 })
    expect(outsider.messages.filter((message) => message.type === 'publish')).toEqual([])
  })

  it('stops delivering after unsubscribe', async () => {
    const { signalUrl, relay } = await startRelay()
    const [a, b] = await subscribedPair(signalUrl, 'room-2')
    b.send({ type: 'unsubscribe', topics: ['room-2'] })
    await b.sync()
    a.send({ type: 'publish', topic: 'room-2', data: announce('after') })
    expect(await a.waitFor(isPublish('after'))).toMatchObject({ clients: 1 })
    await b.sync()
    expect(b.messages.filter((message) => message.type === 'publish')).toEqual([])
    a.send({ type: 'unsubscribe', topics: ['room-2'] })
    await a.sync()
    expect(relay.stats().rooms).toBe(0)
  })

  const badInputs: readonly { name: string; reason: string; code: number; act: (client: TestClient) => void }[] = [
    { name: 'garbage text', reason: 'invalid-json', code: 1008, act: (c) => c.send('hello there') },
    { name: 'invalid JSON', reason: 'invalid-json', code: 1008, act: (c) => c.send('{"type":"publish",') },
    { name: 'a frame failing the schema', reason: 'invalid-frame', code: 1008, act: (c) => c.send({ type: 'subscribe', topics: [''] }) },
    {
      name: 'an oversized frame',
      reason: 'oversized',
      code: 1009,
      act: (c) => c.send({ type: 'publish', topic: 'room-3', data: 'x'.repeat(4096) }),
    },
    { name: 'a binary frame', reason: 'binary', code: 1003, act: (c) => c.ws.send(Buffer.from([1, 2, 3])) },
    {
      name: 'too many topics',
      reason: 'too-many-topics',
      code: 1008,
      act: (c) => c.send({ type: 'subscribe', topics: ['t1', 't2', 't3', 't4'] }),
    },
  ]

  it.each(badInputs)('closes only the socket that sent $name', async ({ reason, code, act }) => {
    const { signalUrl, relay } = await startRelay({ RELAY_MAX_FRAME_BYTES: '1024', RELAY_MAX_TOPICS: '4' })
    const [a, b] = await subscribedPair(signalUrl, 'room-3')
    const bad = await connect(signalUrl)
    bad.send({ type: 'subscribe', topics: ['room-3'] })
    await bad.sync()
    act(bad)
    expect((await bad.closed).code).toBe(code)
    await waitUntil(() => relay.stats().connections === 2)
    a.send({ type: 'publish', topic: 'room-3', data: announce('still-here') })
    expect(await b.waitFor(isPublish('still-here'))).toMatchObject({ clients: 2 })
    expect(a.ws.readyState).toBe(WebSocket.OPEN)
    expect(relay.stats().dropped).toMatchObject({ [reason]: 1 })
  })

  it('refuses connections past the per-address limit with 1013', async () => {
    const { signalUrl, relay } = await startRelay({ RELAY_MAX_CONN_PER_IP: '2' })
    const first = await connect(signalUrl)
    await connect(signalUrl)
    const third = await connect(signalUrl)
    expect((await third.closed).code).toBe(1013)
    expect(relay.stats().dropped['conn-limit']).toBe(1)
    first.ws.close()
    await first.closed
    await waitUntil(() => relay.stats().connections === 1)
    const fourth = await connect(signalUrl)
    await fourth.sync()
  })

  it('closes a socket that stays silent and answers no ping, and keeps a live one', async () => {
    const { signalUrl, relay } = await startRelay({ RELAY_IDLE_TIMEOUT_MS: '1000' })
    const live = await connect(signalUrl)
    const silent = await connect(signalUrl, { autoPong: false })
    await silent.closed
    expect(relay.stats().dropped.idle).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    expect(live.ws.readyState).toBe(WebSocket.OPEN)
    await live.sync()
  })

  it('rejects upgrades on other paths and plain GETs of /signal', async () => {
    const { baseUrl, port } = await startRelay()
    const error = await new Promise<Error>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/not-signal`)
      ws.on('error', resolve)
    })
    expect(error.message).toContain('404')
    const plain = await fetch(`${baseUrl}/signal`)
    await plain.arrayBuffer()
    expect(plain.status).toBe(426)
  })

  it('closes sockets with 1001 on close()', async () => {
    const config = loadConfig({ PORT: '0', RELAY_STATIC_DIR: staticDir, RELAY_LOG: 'silent' })
    const relay = createRelay(config)
    const { port } = await relay.listen()
    const client = await connect(`ws://127.0.0.1:${port}/signal`)
    await relay.close()
    expect((await client.closed).code).toBe(1001)
  })
})

describe('relay process', () => {
  it('logs its URL, then on SIGTERM closes sockets with 1001 and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RELAY_STATIC_DIR: staticDir, RELAY_LOG: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await Promise.resolve()
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const records: Message[] = []
    const listening = new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`relay exited early with ${String(code)}`)))
      createInterface({ input: child.stdout }).on('line', (line) => {
        const record = JSON.parse(line) as Message
        records.push(record)
        const match = /listening on (http:\/\/\S+)$/.exec(String(record.msg))
        if (match?.[1] !== undefined) resolve(match[1])
      })
    })
    const url = await listening
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const client = await connect(`${url.replace('http', 'ws')}/signal`)
    client.send({ type: 'subscribe', topics: ['process-room'] })
    await client.sync()
    child.kill('SIGTERM')
    expect((await client.closed).code).toBe(1001)
    expect(await exited).toBe(0)
    expect(records.map((record) => record.msg)).toContain('edgeswarm relay shutting down')
    expect(records.every((record) => typeof record.t === 'string' && typeof record.level === 'string')).toBe(true)
  })
})

// A hostile or broken upstream must not take the relay down, nor hold its requests: raw TCP
// servers that hang up, send garbage (seeded random bytes, events that are not JSON or not
// chunks), stay silent before or after their headers, or send without end (an endless event,
// an endless error body, an endless model list). Each stands first before a good upstream: every
// request still succeeds, through failover, no connection to it stays open, the model list
// leaves it out, and the relay goes on answering. Seeded: a failure prints the replay command.
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createRandom, type Random } from './relay-fuzz/random'
import { startFakeUpstream } from './relay-v1/fake-upstream'
import { startRelay, waitFor, type StartedRelay } from './relay-v1/start'

const seed = Number(process.env.RELAY_UPSTREAM_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const replay = `RELAY_UPSTREAM_FUZZ_SEED=${seed} npx vitest run test/unit/relay-v1-upstreams-hostile.test.ts`
const timeoutMs = 500

type Behaviour = (socket: Socket, random: Random) => void

const sseHead = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'
/** One chunk of a chunked body. */
const chunked = (text: string): string => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`
const chunkedBytes = (bytes: Uint8Array): Buffer => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')])
const endChunks = '0\r\n\r\n'

/** Sockets being flooded right now: the relay must be the one to stop each, by hanging up. */
const flooding = new Set<Socket>()

/** Writes `piece()` for as long as the socket is open. */
function flood(socket: Socket, piece: () => Buffer): void {
  flooding.add(socket)
  socket.on('close', () => flooding.delete(socket))
  const pump = (): void => {
    while (!socket.destroyed && socket.write(piece()));
  }
  socket.on('drain', pump)
  pump()
}

const behaviours: Record<string, Behaviour> = {
  'hangs up at once': (socket) => socket.destroy(),
  'sends random bytes, not HTTP': (socket, random) => socket.end(Buffer.from(random.bytes(1 + random.int(4096)))),
  'answers 200 with random bytes for a body': (socket, random) => socket.end(Buffer.concat([Buffer.from(sseHead), chunkedBytes(random.bytes(1 + random.int(4096))), Buffer.from(endChunks)])),
  'sends events that are not JSON': (socket, random) => socket.end(sseHead + chunked(`data: {${random.text(40)}\n\n`) + endChunks),
  'sends JSON that is not a chunk': (socket, random) => socket.end(sseHead + chunked(`data: ${JSON.stringify({ garbage: random.json() })}\n\n`) + endChunks),
  'ends its stream with no event': (socket) => socket.end(sseHead + endChunks),
  'never answers': () => undefined,
  'sends headers, then nothing': (socket) => socket.write(sseHead),
  'sends one endless event': (socket, random) => {
    socket.write(sseHead + chunked('data: '))
    const line = Buffer.from(chunked(random.text(64 * 1024).replace(/[\r\n]/g, ' ')))
    flood(socket, () => line)
  },
  'answers 500 with an endless body': (socket, random) => {
    socket.write('HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n')
    const text = Buffer.from(chunked(random.text(64 * 1024)))
    flood(socket, () => text)
  },
  'answers with an endless JSON model list': (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' + chunked('{"data":['))
    const entries = Buffer.from(chunked('{"id":"m","object":"model"},'.repeat(2048)))
    flood(socket, () => entries)
  },
}

interface Hostile {
  url: string
  close(): Promise<void>
}

/** A raw TCP server that reads each request's head, then treats the socket as `behaviour` says. */
async function startHostile(behaviour: Behaviour, random: Random): Promise<Hostile> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    let head = ''
    const onData = (data: Buffer): void => {
      head += data.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      socket.off('data', onData)
      // Keeps reading (and dropping) the rest, so the relay's writes never stall on it.
      socket.on('data', () => undefined)
      behaviour(socket, random)
    }
    socket.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    url: `http://127.0.0.1:${address.port}/v1`,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

const chat = (relay: StartedRelay, stream: boolean): Promise<Response> =>
  fetch(`${relay.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'tokens', stream, max_tokens: 3, messages: [{ role: 'user', content: 'Count.' }] }),
  })

describe(`/v1 with a hostile upstream first (seed ${seed}; replay: ${replay})`, () => {
  for (const [name, behaviour] of Object.entries(behaviours)) {
    it(`survives one that ${name}: every request fails over, nothing stays open`, async () => {
      const random = createRandom(seed)
      const [hostile, good] = [await startHostile(behaviour, random), await startFakeUpstream(1)]
      cleanups.push(
        () => hostile.close(),
        () => good.close(),
      )
      const env = { RELAY_UPSTREAM_TIMEOUT_MS: String(timeoutMs), RELAY_UPSTREAM_RETRIES: '0', RELAY_UPSTREAM_BREAKER_FAILURES: '1000', RELAY_RATE_PER_MIN: '10000' }
      // Its model list is read: the union is the good one's.
      const listing = await startRelay({ RELAY_UPSTREAM_URLS: `${hostile.url}, ${good.url}`, ...env })
      cleanups.push(() => listing.close())
      const models = (await (await fetch(`${listing.baseUrl}/v1/models`)).json()) as { data: { id: string }[] }
      expect(models.data.map((model) => model.id)).toEqual(['tokens', 'broken', 'fails', 'refuses'])
      // Configured first for the model, with a breaker that never opens: every chat tries it first.
      const relay = await startRelay({ RELAY_UPSTREAM_URLS: `${hostile.url} tokens, ${good.url}`, ...env })
      cleanups.push(() => relay.close())
      for (const stream of [false, true, false, true]) {
        const response = await chat(relay, stream)
        expect(response.status, replay).toBe(200)
        const text = await response.text()
        expect(stream ? text.match(/"tok "/g)?.length : (JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content, replay).toEqual(stream ? 3 : 'tok tok tok ')
      }
      expect(good.started()).toBe(4)
      await waitFor(() => flooding.size === 0, 2_000)
      const health = (await (await fetch(`${relay.baseUrl}/healthz`)).json()) as { backends: { state: { state: string }; details: { upstreams: { consecutiveFailures: number }[] } }[] }
      expect(health.backends[0]?.state.state).toBe('ready')
      // Every chat that went to it counted against it.
      expect(health.backends[0]?.details.upstreams[0]?.consecutiveFailures).toBe(4)
    })
  }
})

import { describe, expect, it } from 'vitest'
import { loadNetConfig } from '../../src/swarm/room/net-config'

const own = 'ws://127.0.0.1:8787/signal'
const nodeId = '0123456789abcdef0123'
const answering =
  (status: number, body: unknown): typeof fetch =>
  () =>
    Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }))

describe('the page asks its relay for the network settings', () => {
  it('uses what the relay says, and names the node in the request', async () => {
    const asked: string[] = []
    const config = { v: 1, iceServers: [{ urls: 'turn:127.0.0.1:3478', username: '1:n', credential: 'c' }], expiresAt: 5, turn: true, signalingUrls: [own, 'wss://b.example/signal'] }
    const fetcher: typeof fetch = (input, init) => {
      asked.push(input instanceof URL ? input.href : typeof input === 'string' ? input : input.url)
      return answering(200, config)(input, init)
    }
    const loaded = await loadNetConfig('http://127.0.0.1:8787', nodeId, own, fetcher)
    expect(loaded).toEqual({ config, source: 'relay', problem: null })
    expect(asked).toEqual([`http://127.0.0.1:8787/net.json?node=${nodeId}`])
  })

  it('falls back to its own signaling and public STUN, and says why, when the relay cannot tell', async () => {
    const failing: typeof fetch = () => Promise.reject(new TypeError('Failed to fetch'))
    const cases: [typeof fetch, RegExp][] = [
      [failing, /could not be asked.*Failed to fetch/],
      [answering(404, {}), /answered 404/],
      [answering(200, { v: 1, iceServers: [{ urls: 'http://x' }], expiresAt: null, turn: false, signalingUrls: [own] }), /is not valid/],
      [answering(200, { v: 2 }), /is not valid/],
    ]
    for (const [fetcher, problem] of cases) {
      const loaded = await loadNetConfig('http://127.0.0.1:8787', nodeId, own, fetcher)
      expect(loaded.source).toBe('fallback')
      expect(loaded.problem).toMatch(problem)
      expect(loaded.config.signalingUrls).toEqual([own])
      expect(loaded.config.turn).toBe(false)
    }
  })
})

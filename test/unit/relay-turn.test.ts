// TURN credentials from GET /net.json: coturn's shared-secret convention, their expiry, the
// configuration that is refused, and the per-address limit that keeps it from being a faucet.
import { createHmac } from 'node:crypto'
import * as v from 'valibot'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig, RelayConfigError } from '../../src/relay/config'
import { createRelay } from '../../src/relay/server'
import { issueIce, turnCredential } from '../../src/relay/net/turn'
import { NetConfigSchema } from '../../src/shared/net-config'

const secret = 'a-shared-secret-of-32-characters'
const turnEnv = { RELAY_TURN_URLS: 'turn:127.0.0.1:3478?transport=udp, turns:turn.example.org:5349', RELAY_TURN_SECRET: secret }

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

async function startRelay(env: Record<string, string>): Promise<string> {
  const relay = createRelay(loadConfig({ PORT: '0', RELAY_LOG: 'silent', ...env }), { shutdownGraceMs: 200 })
  const { port } = await relay.listen()
  cleanups.push(() => relay.close())
  return `http://127.0.0.1:${port}`
}

/** coturn's check, written out apart from the relay's code: HMAC-SHA1 of the username, base64. */
function coturnPassword(sharedSecret: string, username: string): string {
  return createHmac('sha1', Buffer.from(sharedSecret, 'utf8')).update(Buffer.from(username, 'utf8')).digest().toString('base64')
}

function configProblems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof RelayConfigError) return error.problems
    throw error
  }
  return []
}

describe('TURN credentials', () => {
  it("follow coturn's use-auth-secret convention: username expiry:nodeId, credential base64 HMAC-SHA1", () => {
    const { username, credential } = turnCredential(secret, '0123456789abcdef0123', 1_900_000_000)
    expect(username).toBe('1900000000:0123456789abcdef0123')
    expect(credential).toBe(coturnPassword(secret, username))
    // A published vector of the TURN REST API draft's scheme (HMAC-SHA1, base64): key "key", text "The quick brown fox jumps over the lazy dog".
    expect(createHmac('sha1', 'key').update('The quick brown fox jumps over the lazy dog').digest('base64')).toBe('3nybhbi3iqa8ino29wqQcBydtNk=')
  })

  it('expire ttl seconds after they are issued, and the fixed ICE servers stay first', () => {
    const nowMs = 1_800_000_000_500
    const issued = issueIce([{ urls: 'stun:stun.example.org:3478' }], { urls: ['turn:a:3478'], secret, ttlS: 600 }, 'ffffffffffffffffffff', nowMs)
    expect(issued.expiresAt).toBe((1_800_000_000 + 600) * 1000)
    expect(issued.turn).toBe(true)
    expect(issued.iceServers[0]).toEqual({ urls: 'stun:stun.example.org:3478' })
    expect(issued.iceServers[1]).toMatchObject({ urls: ['turn:a:3478'], username: `${1_800_000_000 + 600}:ffffffffffffffffffff` })
    expect(issueIce([{ urls: 'stun:s:1' }], null, 'ffffffffffffffffffff', nowMs)).toEqual({ iceServers: [{ urls: 'stun:s:1' }], expiresAt: null, turn: false })
  })

  it('are handed to each page by /net.json for its own node id, with expiresAt and turn: true', async () => {
    const baseUrl = await startRelay({ ...turnEnv, RELAY_TURN_TTL_S: '3600' })
    const before = Date.now()
    const body = v.parse(NetConfigSchema, await (await fetch(`${baseUrl}/net.json?node=0123456789abcdef0123`)).json())
    expect(body.turn).toBe(true)
    const server = body.iceServers.find((item) => item.username !== undefined)
    expect(server?.urls).toEqual(['turn:127.0.0.1:3478?transport=udp', 'turns:turn.example.org:5349'])
    const [expiry, nodeId] = (server?.username ?? '').split(':')
    expect(nodeId).toBe('0123456789abcdef0123')
    expect(Number(expiry) * 1000).toBe(body.expiresAt)
    expect(body.expiresAt ?? 0).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_600_000)
    expect(body.expiresAt ?? 0).toBeLessThanOrEqual(Date.now() + 3_600_000)
    expect(server?.credential).toBe(coturnPassword(secret, server?.username ?? ''))

    const anonymous = v.parse(NetConfigSchema, await (await fetch(`${baseUrl}/net.json`)).json())
    const anonymousUser = anonymous.iceServers.find((item) => item.username !== undefined)?.username ?? ''
    expect(anonymousUser).toMatch(/^\d+:[0-9a-f]{20}$/)
    expect(anonymousUser.endsWith(':0123456789abcdef0123')).toBe(false)
  })

  it('refuse a node id that is not one, so no username can be smuggled into coturn', async () => {
    const baseUrl = await startRelay(turnEnv)
    for (const node of ['0123', 'ZZZZZZZZZZZZZZZZZZZZ', '0123456789abcdef0123:1', '0123456789abcdef0123%0a']) {
      expect((await fetch(`${baseUrl}/net.json?node=${node}`)).status).toBe(400)
    }
  })
})

describe('TURN configuration', () => {
  it('is refused when half of it is missing, the secret is short, a URL is no TURN URL or the TTL is nonsense', () => {
    expect(configProblems({ RELAY_TURN_URLS: 'turn:a:3478' }).join('\n')).toMatch(/RELAY_TURN_SECRET is not/)
    expect(configProblems({ RELAY_TURN_SECRET: secret }).join('\n')).toMatch(/RELAY_TURN_URLS is not/)
    expect(configProblems({ ...turnEnv, RELAY_TURN_SECRET: 'short' }).join('\n')).toMatch(/at least 16/)
    expect(configProblems({ ...turnEnv, RELAY_TURN_URLS: 'stun:a:3478' }).join('\n')).toMatch(/not a turn: or turns: URL/)
    expect(configProblems({ ...turnEnv, RELAY_TURN_URLS: 'https://a.example' }).join('\n')).toMatch(/not a turn: or turns: URL/)
    for (const ttl of ['0', '59', '604801', '1e3', '-5', 'day']) expect(configProblems({ ...turnEnv, RELAY_TURN_TTL_S: ttl }).join('\n')).toMatch(/RELAY_TURN_TTL_S/)
    expect(configProblems({ RELAY_NET_PER_MIN: '0' }).join('\n')).toMatch(/RELAY_NET_PER_MIN/)
    expect(configProblems({ ...turnEnv, RELAY_TURN_TTL_S: '60' })).toEqual([])
    expect(loadConfig({ ...turnEnv }).net.turn).toEqual({ urls: ['turn:127.0.0.1:3478?transport=udp', 'turns:turn.example.org:5349'], secret, ttlS: 86_400 })
  })
})

describe('/net.json limit', () => {
  it('answers 429 with Retry-After past RELAY_NET_PER_MIN from one address: no free credential faucet', async () => {
    const baseUrl = await startRelay({ ...turnEnv, RELAY_NET_PER_MIN: '5' })
    const statuses: number[] = []
    for (let index = 0; index < 7; index++) statuses.push((await fetch(`${baseUrl}/net.json?node=0123456789abcdef0123`)).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429])
    const refused = await fetch(`${baseUrl}/net.json`)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('12')
    expect(await refused.text()).not.toMatch(/turn:/)
  })
})

// Who may reach the relay: the Host allow-list against DNS rebinding, X-Forwarded-For only
// from trusted proxies, /healthz details only with a token.
import { spawn } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { loadConfig, RelayConfigError } from '../../src/relay/config'
import { hostAllowed, hostnameOf, upgradeOriginAllowed } from '../../src/relay/host-check'
import { createRelay } from '../../src/relay/server'
import { loadV1Config } from '../../src/relay/v1/config'
import { startRelay, type StartedRelay } from './relay-v1/start'

const repoRoot = path.resolve(import.meta.dirname, '../..')
const started: StartedRelay[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((relay) => relay.close()))
})

async function start(v1Env: Record<string, string> = {}, relayEnv: Record<string, string> = {}): Promise<StartedRelay> {
  const relay = await startRelay(v1Env, relayEnv)
  started.push(relay)
  return relay
}

/** A request with exactly this Host header (fetch would not let us set it). */
function get(port: number, requestPath: string, headers: http.OutgoingHttpHeaders): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: requestPath, headers, agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the Host allow-list', () => {
  it('refuses a rebinding Host on /v1, /healthz, /signal and the app, and serves the names it is known by', async () => {
    const relay = await start({}, { RELAY_PUBLIC_HOSTS: 'relay.example.org,.swarm.example' })
    const evil = { Host: `attacker.example:${relay.port}` }
    const models = await get(relay.port, '/v1/models', evil)
    expect(models.status).toBe(403)
    expect(JSON.parse(models.body)).toMatchObject({ error: { code: 'host_not_allowed', type: 'invalid_request_error' } })
    for (const target of ['/healthz', '/', '/index.html']) {
      const refused = await get(relay.port, target, evil)
      expect(refused.status, target).toBe(403)
      expect(refused.body, target).toMatch(/RELAY_PUBLIC_HOSTS/)
    }
    const upgrade = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/signal`, { headers: { Host: 'attacker.example' } })
      ws.on('open', () => resolve('opened'))
      ws.on('error', (error) => resolve(error.message))
    })
    expect(upgrade).toMatch(/403/)
    expect(relay.relay.stats().dropped.host).toBe(1)
    for (const host of [
      `127.0.0.1:${relay.port}`,
      `localhost:${relay.port}`,
      'app.localhost',
      '[::1]:80',
      '192.0.2.7',
      'relay.example.org',
      'RELAY.EXAMPLE.ORG.',
      'swarm.example',
      'a.b.swarm.example:443',
    ]) {
      expect((await get(relay.port, '/healthz', { Host: host })).status, host).toBe(200)
    }
    for (const host of ['relay.example.org.attacker.example', 'xswarm.example', 'localhost.attacker.example', '127.0.0.1.nip.io']) {
      expect((await get(relay.port, '/healthz', { Host: host })).status, host).toBe(403)
    }
  })

  it('reads host names as browsers send them', () => {
    expect(hostnameOf('Example.ORG:8787')).toBe('example.org')
    expect(hostnameOf('[::1]:80')).toBe('::1')
    expect(hostnameOf('[::1]x')).toBeNull()
    expect(hostnameOf('a:b:c')).toBeNull()
    expect(hostAllowed(undefined, { publicHosts: [], bindHost: '127.0.0.1' })).toBe(false)
    expect(hostAllowed('box.lan:8787', { publicHosts: [], bindHost: 'box.lan' })).toBe(true)
    expect(upgradeOriginAllowed('https://relay.example.org', 'relay.example.org', [])).toBe(true)
    expect(upgradeOriginAllowed('https://other.example.org', 'relay.example.org', [])).toBe(false)
    expect(upgradeOriginAllowed('chrome-extension://abc', 'relay.example.org', [])).toBe(false)
  })
})

describe('X-Forwarded-For', () => {
  const chat = (relay: StartedRelay, forwardedFor: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${relay.baseUrl}/v1/models`, { headers: { 'X-Forwarded-For': forwardedFor, ...headers } })

  it('is ignored from peers that are not trusted proxies: a client cannot rotate its way past the rate', async () => {
    const relay = await start({ RELAY_RATE_PER_MIN: '2' })
    expect((await chat(relay, '198.51.100.1')).status).toBe(200)
    expect((await chat(relay, '198.51.100.2')).status).toBe(200)
    expect((await chat(relay, '198.51.100.3')).status).toBe(429)
  })

  it('is refused without tokens: the relay will not start with RELAY_TRUST_PROXY alone', async () => {
    expect(() => loadV1Config({ RELAY_TRUST_PROXY: '10.0.0.1' })).toThrow(/RELAY_TRUST_PROXY is set but RELAY_TOKENS is not/)
    expect(loadV1Config({ RELAY_TRUST_PROXY: '10.0.0.1', RELAY_TOKENS: 't' }).tokens).toEqual(['t'])
    const relay = createRelay(loadConfig({ PORT: '0', RELAY_LOG: 'silent', RELAY_TRUST_PROXY: '10.0.0.1' }))
    await expect(relay.listen()).rejects.toThrow(RelayConfigError)
    await relay.close()
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RELAY_TRUST_PROXY: '127.0.0.1', RELAY_TOKENS: '', RELAY_LOG: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    expect(await new Promise<number | null>((resolve) => child.once('exit', resolve))).toBe(2)
    expect(stderr).toMatch(/RELAY_TRUST_PROXY is set but RELAY_TOKENS is not/)
  })
})

describe('/healthz', () => {
  it('shows its details only with a valid token when tokens are set', async () => {
    const relay = await start({ RELAY_TOKENS: 'secret-token' })
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Basic c2VjcmV0LXRva2Vu' }]) {
      const health = (await (await fetch(`${relay.baseUrl}/healthz`, { headers })).json()) as Record<string, unknown>
      expect(health).toEqual({ ok: true, status: 'ok', version: expect.any(String) as string })
    }
    const full = (await (await fetch(`${relay.baseUrl}/healthz`, { headers: { Authorization: 'Bearer secret-token' } })).json()) as Record<string, unknown>
    expect(full).toMatchObject({ ok: true, status: 'ok', connections: 0, backends: [], faults: { unhandledRejections: 0, uncaughtExceptions: 0 } })
    expect(full.dropped).toBeDefined()
    const open = await start()
    expect((await (await fetch(`${open.baseUrl}/healthz`)).json()) as Record<string, unknown>).toHaveProperty('dropped')
  })
})

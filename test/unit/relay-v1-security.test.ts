import { spawn } from 'node:child_process'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig, RelayConfigError } from '../../src/relay/config'
import { createRelay } from '../../src/relay/server'
import { isLoopbackHost, loadV1Config } from '../../src/relay/v1/config'
import { startRelay, type StartedRelay } from './relay-v1/start'

const repoRoot = path.resolve(import.meta.dirname, '../..')
const started: StartedRelay[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((relay) => relay.close()))
})

async function start(env: Record<string, string> = {}): Promise<StartedRelay> {
  const relay = await startRelay(env)
  started.push(relay)
  return relay
}

interface ErrorShape {
  error: { message: string; type: string; param: string | null; code: string | null }
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorShape> {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
  const body = (await response.json()) as ErrorShape
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  expect(body.error.code).toBe(code)
  expect(body.error.message.length).toBeGreaterThan(10)
  return body
}

const chatBody = (extra: Record<string, unknown> = {}): string => JSON.stringify({ model: 'any', messages: [{ role: 'user', content: 'hi' }], ...extra })

function post(relay: StartedRelay, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${relay.baseUrl}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body })
}

/** The relay still answers: a models list with the token. */
async function expectAlive(relay: StartedRelay, headers: Record<string, string> = {}): Promise<void> {
  const response = await fetch(`${relay.baseUrl}/v1/models`, { headers })
  expect(response.status).toBe(200)
  expect(((await response.json()) as { object: string }).object).toBe('list')
}

describe('/v1 with nothing configured', () => {
  it('lists no models and says what to configure; chat answers 503; swarm answers 501', async () => {
    const relay = await start()
    const models = (await (await fetch(`${relay.baseUrl}/v1/models`)).json()) as { data: unknown[]; message: string }
    expect(models.data).toEqual([])
    expect(models.message).toMatch(/RELAY_MODEL_PATH.*RELAY_UPSTREAM_URL/)
    const unconfigured = await expectError(await post(relay, chatBody()), 503, 'no_backend')
    expect(unconfigured.error.message).toMatch(/RELAY_MODEL_PATH/)
    await expectError(await post(relay, chatBody({ model: 'swarm/lobby' })), 501, 'swarm_gateway_unavailable')
    await expectError(await post(relay, chatBody({ model: 'swarm' })), 501, 'swarm_gateway_unavailable')
    const health = (await (await fetch(`${relay.baseUrl}/healthz`)).json()) as { backends: unknown[]; v1: { requests: number; failed: number } }
    expect(health.backends).toEqual([])
    expect(health.v1.requests).toBe(4)
    expect(health.v1.failed).toBe(3)
  })
})

describe('/v1 tokens, rates and caps', () => {
  const auth = { Authorization: 'Bearer good-token' }

  it('answers 401 to a missing or wrong token, then serves the right one', async () => {
    const relay = await start({ RELAY_TOKENS: 'other,good-token' })
    const missing = await expectError(await post(relay, chatBody()), 401, 'missing_api_key')
    expect(missing.error.type).toBe('authentication_error')
    await expectError(await post(relay, chatBody(), { Authorization: 'Bearer nope' }), 401, 'invalid_api_key')
    await expectError(await fetch(`${relay.baseUrl}/v1/models`, { headers: { Authorization: 'Basic Z29vZA==' } }), 401, 'missing_api_key')
    await expectAlive(relay, auth)
  })

  it('answers 429 with Retry-After past the rate, per token', async () => {
    const relay = await start({ RELAY_TOKENS: 'good-token,second', RELAY_RATE_PER_MIN: '3' })
    for (let i = 0; i < 3; i += 1) await expectAlive(relay, auth)
    const limited = await fetch(`${relay.baseUrl}/v1/models`, { headers: auth })
    await expectError(limited, 429, 'rate_limit_exceeded')
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60)
    await expectAlive(relay, { Authorization: 'Bearer second' })
  })

  it('answers 413 to an oversized body, 400 to malformed JSON, bad fields, too many messages and max_tokens over the cap', async () => {
    const relay = await start({ RELAY_TOKENS: 'good-token', RELAY_MAX_BODY_BYTES: '4096', RELAY_MAX_MESSAGES: '3', RELAY_MAX_TOKENS: '64' })
    await expectError(await post(relay, chatBody({ pad: 'x'.repeat(10_000) }), auth), 413, 'request_too_large')
    await expectError(await post(relay, '{"model": "a", "messages": [', auth), 400, 'invalid_json')
    const noModel = await expectError(await post(relay, JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }), auth), 400, 'invalid_request')
    expect(noModel.error.param).toBe('model')
    const badRole = await expectError(await post(relay, chatBody({ messages: [{ role: 'wizard', content: 'hi' }] }), auth), 400, 'invalid_request')
    expect(badRole.error.param).toBe('messages.0.role')
    const messages = Array.from({ length: 4 }, () => ({ role: 'user', content: 'hi' }))
    const tooMany = await expectError(await post(relay, chatBody({ messages }), auth), 400, 'too_many_messages')
    expect(tooMany.error.param).toBe('messages')
    const tooLong = await expectError(await post(relay, chatBody({ max_tokens: 65 }), auth), 400, 'max_tokens_too_large')
    expect(tooLong.error.param).toBe('max_tokens')
    await expectError(await post(relay, chatBody({ max_completion_tokens: 1000 }), auth), 400, 'max_tokens_too_large')
    await expectAlive(relay, auth)
  })

  it('refuses a streamed oversized body without Content-Length and stays up', async () => {
    const relay = await start({ RELAY_MAX_BODY_BYTES: '2048' })
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i += 1) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)))
        controller.close()
      },
    })
    const response = await fetch(`${relay.baseUrl}/v1/chat/completions`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    await expectError(response, 413, 'request_too_large')
    await expectAlive(relay)
  })

  it('grants CORS to configured origins and the relay itself, and refuses others', async () => {
    const relay = await start({ RELAY_CORS_ORIGINS: 'https://app.example' })
    const preflight = await fetch(`${relay.baseUrl}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type, x-stainless-os' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-stainless-os')
    const denied = await fetch(`${relay.baseUrl}/v1/chat/completions`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } })
    expect(denied.headers.get('access-control-allow-origin')).toBeNull()
    await expectError(await fetch(`${relay.baseUrl}/v1/models`, { headers: { Origin: 'https://evil.example' } }), 403, 'origin_not_allowed')
    const allowed = await fetch(`${relay.baseUrl}/v1/models`, { headers: { Origin: 'https://app.example' } })
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(allowed.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
    const sameOrigin = await fetch(`${relay.baseUrl}/v1/models`, { headers: { Origin: relay.baseUrl } })
    expect(sameOrigin.status).toBe(200)
  })

  it('answers unknown /v1 paths with 404 and wrong methods with 405, in the error shape', async () => {
    const relay = await start()
    await expectError(await fetch(`${relay.baseUrl}/v1/images/generations`, { method: 'POST', body: '{}' }), 404, 'not_found')
    const wrong = await fetch(`${relay.baseUrl}/v1/chat/completions`)
    await expectError(wrong, 405, 'method_not_allowed')
    expect(wrong.headers.get('allow')).toBe('POST')
  })
})

describe('exposure', () => {
  it('tells loopback hosts from others', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '192.168.1.4', 'example.org']) expect(isLoopbackHost(host), host).toBe(false)
  })

  it('refuses a non-loopback HOST without RELAY_TOKENS, in the config and at listen', async () => {
    expect(() => loadV1Config({}, '0.0.0.0')).toThrow(RelayConfigError)
    expect(() => loadV1Config({}, '0.0.0.0')).toThrow(/RELAY_TOKENS/)
    expect(loadV1Config({ RELAY_TOKENS: 'a,b' }, '0.0.0.0').tokens).toEqual(['a', 'b'])
    const relay = createRelay(loadConfig({ PORT: '0', HOST: '0.0.0.0', RELAY_LOG: 'silent' }))
    await expect(relay.listen()).rejects.toThrow(/not loopback.*RELAY_TOKENS/)
    await relay.close()
  })

  it('exits the relay process with a clear message', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', HOST: '0.0.0.0', RELAY_TOKENS: '', RELAY_LOG: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(2)
    expect(stderr).toMatch(/HOST=0\.0\.0\.0 is not loopback: set RELAY_TOKENS/)
  })

  it('rejects invalid /v1 variables, naming each', () => {
    expect(() => loadV1Config({ RELAY_RATE_PER_MIN: 'lots', RELAY_UPSTREAM_URL: 'not a url', RELAY_CORS_ORIGINS: 'app.example' })).toThrow(
      /RELAY_RATE_PER_MIN[\s\S]*RELAY_CORS_ORIGINS[\s\S]*RELAY_UPSTREAM_URL/,
    )
  })
})

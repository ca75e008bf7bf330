// /v1 over several upstreams (RELAY_UPSTREAM_URLS), each a real local HTTP server: failover
// when the first is down, failing or silent; a circuit breaker that opens, skips, probes and
// closes, as /healthz shows it; routing by model and the union of the lists; no failover once
// the answer has started, none for the client's own 4xx; the openai client through all of it.
import OpenAI, { APIError } from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/relay/log'
import { createUpstreamsBackend } from '../../src/relay/v1/upstreams'
import { readSseData } from '../../src/shared/sse'
import { startFakeUpstream, type FakeUpstream } from './relay-v1/fake-upstream'
import { closedPort, requestRecords, startRelay, waitFor, type StartedRelay } from './relay-v1/start'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

async function fake(models?: readonly string[]): Promise<FakeUpstream> {
  const upstream = await startFakeUpstream(2, models)
  cleanups.push(() => upstream.close())
  return upstream
}

async function relayWith(urls: string, env: Record<string, string> = {}): Promise<StartedRelay> {
  const relay = await startRelay({ RELAY_UPSTREAM_URLS: urls, RELAY_RATE_PER_MIN: '10000', ...env })
  cleanups.push(() => relay.close())
  return relay
}

interface UpstreamHealth {
  url: string
  models: string[] | null
  modelsFrom: 'config' | 'list'
  active: number
  breaker: 'closed' | 'open' | 'half-open'
  consecutiveFailures: number
  openedAt: number | null
  nextProbeAt: number | null
  lastError: string | null
}

async function upstreamsHealth(relay: StartedRelay): Promise<{ state: { state: string }; upstreams: UpstreamHealth[] }> {
  const health = (await (await fetch(`${relay.baseUrl}/healthz`)).json()) as { backends: { name: string; state: { state: string }; details?: { upstreams: UpstreamHealth[] } }[] }
  const backend = health.backends.find((entry) => entry.name === 'upstream')
  if (backend?.details === undefined) throw new Error(`no upstream backend in /healthz: ${JSON.stringify(health)}`)
  return { state: backend.state, upstreams: backend.details.upstreams }
}

const chat = (relay: StartedRelay, model: string, stream = false, maxTokens = 4): Promise<Response> =>
  fetch(`${relay.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, stream, max_tokens: maxTokens, messages: [{ role: 'user', content: 'Count.' }] }),
  })

async function completionText(response: Response): Promise<string> {
  expect(response.status).toBe(200)
  const completion = (await response.json()) as { choices: { message: { content: string } }[] }
  return completion.choices[0]?.message.content ?? ''
}

const client = (relay: StartedRelay): OpenAI => new OpenAI({ baseURL: `${relay.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 })

describe('/v1 with two upstreams, the first one down', () => {
  it('answers through the second: chat, stream and the openai client; the model list is the union', async () => {
    const second = await fake()
    const relay = await relayWith(`http://127.0.0.1:${await closedPort()}/v1 tokens, ${second.url}`, { RELAY_UPSTREAM_RETRIES: '0' })
    expect(await completionText(await chat(relay, 'tokens'))).toBe('tok tok tok tok ')
    const stream = await client(relay).chat.completions.create({ model: 'tokens', messages: [{ role: 'user', content: 'Count.' }], max_completion_tokens: 3, stream: true })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('tok tok tok ')
    const completion = await client(relay).chat.completions.create({ model: 'tokens', messages: [{ role: 'user', content: 'Count.' }], max_completion_tokens: 2 })
    expect(completion.choices[0]?.message.content).toBe('tok tok ')
    expect((await client(relay).models.list()).data.map((model) => model.id)).toEqual(['tokens', 'broken', 'fails', 'refuses'])
    expect(second.started()).toBe(3)
    // The relay logged each failover, with where and why; the clients read none of it.
    expect(JSON.stringify(relay.records.filter((record) => record.msg === 'upstream failed before answering, failing over'))).toMatch(/ECONNREFUSED/)
    const { state, upstreams } = await upstreamsHealth(relay)
    expect(state.state).toBe('ready')
    expect(upstreams.map((upstream) => upstream.breaker)).toEqual(['open', 'closed'])
  })

  it('retries a refused connection only on the last upstream a request may go to', async () => {
    const second = await fake()
    const down = `http://127.0.0.1:${await closedPort()}/v1`
    const retried = (relay: StartedRelay): number => relay.records.filter((record) => record.msg === 'upstream connect failed, retrying').length
    const relay = await relayWith(`${down} tokens, ${second.url}`)
    await completionText(await chat(relay, 'tokens'))
    expect(retried(relay)).toBe(0)
    const alone = await relayWith(`${down} tokens`)
    expect((await chat(alone, 'tokens')).status).toBe(502)
    expect(retried(alone)).toBe(2)
  })

  it('fails over when the first answers 5xx or says nothing for the timeout', async () => {
    const [first, second] = [await fake(), await fake()]
    const relay = await relayWith(`${first.url} tokens, ${second.url} tokens`, { RELAY_UPSTREAM_TIMEOUT_MS: '500', RELAY_UPSTREAM_BREAKER_FAILURES: '100' })
    first.setMode('fail')
    expect(await completionText(await chat(relay, 'tokens'))).toBe('tok tok tok tok ')
    first.setMode('hang')
    expect(await completionText(await chat(relay, 'tokens', false, 2))).toBe('tok tok ')
    expect([first.started(), second.started()]).toEqual([2, 2])
    const [health] = (await upstreamsHealth(relay)).upstreams
    expect(health).toMatchObject({ breaker: 'closed', consecutiveFailures: 2 })
    expect(health?.lastError).toMatch(/silent for 500 ms/)
  })
})

describe('the circuit breaker of each upstream', () => {
  it('opens after 3 failures, skips the upstream, probes it after the cooldown and closes, as /healthz shows', async () => {
    const [first, second] = [await fake(), await fake()]
    const cooldownMs = 1_500
    const relay = await relayWith(`${first.url} tokens, ${second.url} tokens`, { RELAY_UPSTREAM_BREAKER_COOLDOWN_MS: String(cooldownMs) })
    first.setMode('fail')
    for (let request = 0; request < 3; request += 1) await completionText(await chat(relay, 'tokens'))
    expect(first.started()).toBe(3)
    const opened = (await upstreamsHealth(relay)).upstreams[0]
    expect(opened).toMatchObject({ url: first.url, models: ['tokens'], modelsFrom: 'config', breaker: 'open', consecutiveFailures: 3 })
    expect(opened?.lastError).toBe('answered 500')
    expect((opened?.nextProbeAt ?? 0) - (opened?.openedAt ?? 0)).toBe(cooldownMs)
    // Open: the first is not even asked.
    await completionText(await chat(relay, 'tokens'))
    expect([first.started(), second.started()]).toEqual([3, 4])
    // Back up; once the cooldown is over one request probes it, and its answer closes the breaker.
    first.setMode('serve')
    await waitFor(() => Date.now() >= (opened?.nextProbeAt ?? 0), 5_000)
    expect((await upstreamsHealth(relay)).upstreams[0]?.breaker).toBe('half-open')
    await completionText(await chat(relay, 'tokens'))
    expect([first.started(), second.started()]).toEqual([4, 4])
    expect((await upstreamsHealth(relay)).upstreams[0]).toMatchObject({ breaker: 'closed', consecutiveFailures: 0, openedAt: null, nextProbeAt: null })
    await completionText(await chat(relay, 'tokens'))
    expect(first.started()).toBe(5)
  })

  it('reopens for twice the cooldown when the probe fails', async () => {
    const [first, second] = [await fake(), await fake()]
    const relay = await relayWith(`${first.url} tokens, ${second.url} tokens`, { RELAY_UPSTREAM_BREAKER_COOLDOWN_MS: '200', RELAY_UPSTREAM_BREAKER_FAILURES: '1' })
    first.setMode('fail')
    await completionText(await chat(relay, 'tokens'))
    const opened = (await upstreamsHealth(relay)).upstreams[0]
    await waitFor(() => Date.now() >= (opened?.nextProbeAt ?? 0), 5_000)
    await completionText(await chat(relay, 'tokens'))
    expect(first.started()).toBe(2)
    const reopened = (await upstreamsHealth(relay)).upstreams[0]
    expect(reopened).toMatchObject({ breaker: 'open', consecutiveFailures: 2 })
    expect((reopened?.nextProbeAt ?? 0) - (reopened?.openedAt ?? 0)).toBe(400)
  })

  it('answers 503 naming the open breaker, with Retry-After, when it skips every upstream of the model', async () => {
    const only = await fake()
    const relay = await relayWith(`${only.url} tokens`, { RELAY_UPSTREAM_BREAKER_FAILURES: '2', RELAY_UPSTREAM_BREAKER_COOLDOWN_MS: '30000' })
    only.setMode('fail')
    for (let request = 0; request < 2; request += 1) expect((await chat(relay, 'tokens')).status).toBe(502)
    const refused = await chat(relay, 'tokens')
    expect(refused.status).toBe(503)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(29)
    const body = (await refused.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('upstream_circuit_open')
    expect(body.error.message).toMatch(/circuit breaker \(upstream #1\); retry after \d+ s/)
    expect(body.error.message).not.toContain('127.0.0.1')
    expect(only.started()).toBe(2)
    const failure = await client(relay)
      .chat.completions.create({ model: 'tokens', messages: [{ role: 'user', content: 'Count.' }] })
      .catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(APIError)
    expect(failure).toMatchObject({ status: 503, code: 'upstream_circuit_open' })
    const { state } = await upstreamsHealth(relay)
    expect(state).toMatchObject({ state: 'unreachable' })
    // The model list does not knock on an open breaker either.
    const listedBefore = only.listed()
    expect((await fetch(`${relay.baseUrl}/v1/models`)).status).toBe(200)
    expect(only.listed()).toBe(listedBefore)
  })
})

describe('routing by model', () => {
  it('sends each model to the upstreams serving it, the first first; lists the union once; 404 for the rest', async () => {
    const listing = await fake(['a-model', 'shared'])
    const configured = await fake()
    const relay = await relayWith(`${listing.url}, ${configured.url} b-model|shared`)
    expect((await client(relay).models.list()).data.map((model) => model.id)).toEqual(['a-model', 'shared', 'b-model'])
    await completionText(await chat(relay, 'a-model'))
    expect([listing.started(), configured.started()]).toEqual([1, 0])
    await completionText(await chat(relay, 'b-model'))
    expect([listing.started(), configured.started()]).toEqual([1, 1])
    await completionText(await chat(relay, 'shared'))
    expect([listing.started(), configured.started()]).toEqual([2, 1])
    // The second upstream lists tokens, broken…, but is configured for b-model and shared only.
    const unknown = await chat(relay, 'tokens')
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('model_not_found')
    expect([listing.started(), configured.started()]).toEqual([2, 1])
    const { upstreams } = await upstreamsHealth(relay)
    expect(upstreams.map((upstream) => [upstream.models, upstream.modelsFrom])).toEqual([
      [['a-model', 'shared'], 'list'],
      [['b-model', 'shared'], 'config'],
    ])
  })

  it('reads a list before routing a model no list has, at most once per few seconds', async () => {
    const listing = await fake(['late'])
    const relay = await relayWith(listing.url)
    await completionText(await chat(relay, 'late'))
    expect(listing.listed()).toBe(1)
    for (let request = 0; request < 5; request += 1) expect((await chat(relay, `random-${request}`)).status).toBe(404)
    expect(listing.listed()).toBe(1)
    expect(listing.started()).toBe(1)
  })
})

describe('what is never failed over', () => {
  it('an answer that broke after its first chunk: the client gets the chunks and an error, the second upstream nothing', async () => {
    const [first, second] = [await fake(), await fake()]
    const relay = await relayWith(`${first.url} broken, ${second.url} broken`)
    const response = await chat(relay, 'broken', true, 50)
    expect(response.status).toBe(200)
    const events: string[] = []
    for await (const data of readSseData(response.body ?? new ReadableStream())) events.push(data)
    expect(events.filter((data) => data.includes('"tok "'))).toHaveLength(5)
    expect(events.at(-1)).toMatch(/"upstream_error"/)
    expect([first.started(), second.started()]).toEqual([1, 0])
    // It still counts against the first one's breaker.
    expect((await upstreamsHealth(relay)).upstreams[0]).toMatchObject({ consecutiveFailures: 1 })
  })

  it('a 4xx: the client’s request was at fault, and the upstream answered', async () => {
    const [first, second] = [await fake(), await fake()]
    const relay = await relayWith(`${first.url} refuses, ${second.url} refuses`)
    const refused = await chat(relay, 'refuses')
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('upstream_refused')
    expect([first.started(), second.started()]).toEqual([1, 0])
    expect((await upstreamsHealth(relay)).upstreams[0]).toMatchObject({ breaker: 'closed', consecutiveFailures: 0 })
    await waitFor(() => requestRecords(relay.records).length >= 1)
    expect(requestRecords(relay.records).at(-1)).toMatchObject({ backend: 'upstream', status: 400 })
  })
})

describe('/healthz of the upstreams', () => {
  it('names each by URL, never with its key nor the upstream’s own words, with its models and breaker', async () => {
    const [first, second] = [await fake(), await fake()]
    const relay = await relayWith(`${first.url} tokens|fails, ${second.url}`, { RELAY_UPSTREAM_KEYS: 'sk-first-SECRET,sk-second-SECRET' })
    await completionText(await chat(relay, 'tokens'))
    // The second's list is read on the side while the first serves.
    await waitFor(() => second.listed() === 1)
    expect((await upstreamsHealth(relay)).upstreams).toEqual([
      { url: first.url, models: ['tokens', 'fails'], modelsFrom: 'config', active: 0, breaker: 'closed', consecutiveFailures: 0, openedAt: null, nextProbeAt: null, lastError: null },
      {
        url: second.url,
        models: ['tokens', 'broken', 'fails', 'refuses'],
        modelsFrom: 'list',
        active: 0,
        breaker: 'closed',
        consecutiveFailures: 0,
        openedAt: null,
        nextProbeAt: null,
        lastError: null,
      },
    ])
    // Both answer 500 with a secret in their words: the log has them, /healthz and the client not.
    const failed = await chat(relay, 'fails')
    expect(failed.status).toBe(502)
    expect(await failed.text()).not.toMatch(/SECRET|database/)
    const health = await (await fetch(`${relay.baseUrl}/healthz`)).text()
    expect(health).not.toMatch(/SECRET|database/)
    expect((await upstreamsHealth(relay)).upstreams.map((upstream) => [upstream.consecutiveFailures, upstream.lastError])).toEqual([
      [1, 'answered 500'],
      [1, 'answered 500'],
    ])
    expect(JSON.stringify(relay.records)).toMatch(/database down, key sk-live-SECRET/)
  })
})

describe('the upstreams backend on an injected clock', () => {
  it('keeps a failed upstream out for the whole cooldown of its clock, then probes it', async () => {
    const [first, second] = [await fake(), await fake()]
    let nowMs = 5_000_000
    const targets = [
      { url: first.url, key: null, models: ['tokens'] },
      { url: second.url, key: null, models: ['tokens'] },
    ]
    const backend = createUpstreamsBackend({ targets, timeoutMs: 5_000, retries: 0, breaker: { failureThreshold: 1, cooldownMs: 60_000, maxCooldownMs: 480_000 } }, createLogger('silent'), {
      now: () => nowMs,
    })
    cleanups.push(() => backend.close())
    const ask = async (): Promise<string> => {
      let text = ''
      for await (const chunk of backend.chat({ model: 'tokens', max_tokens: 2, messages: [{ role: 'user', content: 'Count.' }] }, new AbortController().signal))
        text += chunk.choices[0]?.delta.content ?? ''
      return text
    }
    first.setMode('fail')
    expect(await ask()).toBe('tok tok ')
    first.setMode('serve')
    nowMs += 59_999
    expect(await ask()).toBe('tok tok ')
    expect([first.started(), second.started()]).toEqual([1, 2])
    expect(backend.details?.()).toMatchObject({ upstreams: [{ breaker: 'open', openedAt: 5_000_000, nextProbeAt: 5_060_000 }, { breaker: 'closed' }] })
    nowMs += 1
    expect(await ask()).toBe('tok tok ')
    expect([first.started(), second.started()]).toEqual([2, 2])
    expect(backend.details?.()).toMatchObject({ upstreams: [{ breaker: 'closed', consecutiveFailures: 0 }, { breaker: 'closed' }] })
  })
})

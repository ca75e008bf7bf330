// The relay's MCP server at /mcp, through the MCP SDK's own client over Streamable HTTP: the
// tools it lists, `ask` on the embedded backend (the tiny GGUF) with the day budget charged, the
// room tools on a RELAY_ROOMS room, the memory resources; and what it refuses: no token or a
// wrong one (401 in JSON), a foreign Origin, GET and DELETE (stateless), a body over the cap,
// arguments past the schemas, a room the relay is not in, a plan that is not a DAG.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tinyModelId, tinyModelPath } from './backend/tiny-model'
import { freePort } from './relay-fuzz/relay-process'
import { connectMcp, textOf } from './relay-mcp/client'
import { startRelay, waitForBackendReady, type StartedRelay } from './relay-v1/start'

const token = 'mcp-test-token-0123456789'

const connect = (baseUrl: string, bearer: string | null = token): Promise<Client> => connectMcp(baseUrl, bearer)

describe('MCP over Streamable HTTP: the embedded model', () => {
  let relay: StartedRelay
  let client: Client

  beforeAll(async () => {
    relay = await startRelay({ RELAY_TOKENS: token, RELAY_MODEL_PATH: tinyModelPath, RELAY_DAILY_TOKENS: '5000', RELAY_MAX_BODY_BYTES: '65536' })
    await waitForBackendReady(relay, 60_000, token)
    client = await connect(relay.baseUrl)
  }, 90_000)

  afterAll(async () => {
    await client.close()
    await relay.close()
  })

  it('lists its tools, each with an input schema', async () => {
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name).sort()).toEqual(['add_memory', 'ask', 'fan_out', 'list_peers', 'run_plan', 'search_memory', 'summarize'])
    const ask = tools.find((tool) => tool.name === 'ask')
    expect(ask?.inputSchema.required).toEqual(['question'])
    expect(Object.keys(ask?.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['question', 'model', 'max_tokens']))
  })

  it('asks the embedded model, by name and by default, and charges the budget', async () => {
    const named = await client.callTool({ name: 'ask', arguments: { question: 'Say hello.', model: tinyModelId, max_tokens: 4 } })
    expect(named.isError).toBeFalsy()
    expect(textOf(named).length).toBeGreaterThan(0)
    const byDefault = await client.callTool({ name: 'ask', arguments: { question: 'And again.', max_tokens: 2 } })
    expect(byDefault.isError).toBeFalsy()
    const calls = relay.records.filter((record) => record.msg === 'mcp tool call' && record.tool === 'ask')
    expect(calls.map((record) => record.ok)).toEqual([true, true])
    // No prompt in the log.
    expect(JSON.stringify(relay.records)).not.toContain('Say hello.')
    // More than the day has left: refused as a tool error, before the model runs.
    const over = await client.callTool({ name: 'ask', arguments: { question: 'x'.repeat(6_000) } })
    expect(over.isError).toBe(true)
    expect(textOf(over)).toMatch(/daily budget/)
  })

  it('refuses what the schemas and caps do not allow, as tool errors the client reads', async () => {
    const invalid = [
      { name: 'ask', arguments: { question: '' } },
      { name: 'ask', arguments: { question: 'hi', max_tokens: 1_000_000 } },
      { name: 'ask', arguments: { question: 'hi', temperature: -1 } },
      { name: 'add_memory', arguments: { room: 'lobby', text: 'x'.repeat(8_001) } },
      { name: 'add_memory', arguments: { room: 'lobby', text: 'ok', tags: Array.from({ length: 17 }, (_, index) => `t${index}`) } },
      { name: 'run_plan', arguments: { room: 'lobby', goal: 'g', plan: { steps: [{ id: 'bad id!', role: 'writer', prompt: 'p', dependsOn: [] }] } } },
      { name: 'summarize', arguments: { room: 'lobby', document: 'd', chunk_chars: 10 } },
    ]
    for (const call of invalid) {
      const result = await client.callTool(call)
      expect(result.isError, JSON.stringify(call).slice(0, 80)).toBe(true)
      expect(textOf(result)).toMatch(/Input validation error/)
    }
    const unknown = await client.callTool({ name: 'ask', arguments: { question: 'hi', model: 'no-such-model' } })
    expect(unknown.isError).toBe(true)
    expect(textOf(unknown)).toMatch(/not served here/)
  })

  it('answers the room tools with "no rooms" when RELAY_ROOMS is empty', async () => {
    const result = await client.callTool({ name: 'search_memory', arguments: { room: 'lobby', query: 'x' } })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toMatch(/joins no rooms: .*RELAY_ROOMS/)
    expect((await client.listResources()).resources).toEqual([])
  })

  it('gives 401 in JSON without a token or with a wrong one', async () => {
    for (const bearer of [null, 'wrong-token']) {
      const error: unknown = await connect(relay.baseUrl, bearer).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(StreamableHTTPError)
      expect((error as StreamableHTTPError).code).toBe(401)
    }
    const res = await fetch(`${relay.baseUrl}/mcp`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }, body: '{}' })
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    const body = (await res.json()) as { jsonrpc: string; error: { message: string } }
    expect(body.jsonrpc).toBe('2.0')
    expect(body.error.message).toMatch(/missing bearer token/)
  })

  it('refuses a Host it is not known by (DNS rebinding), in JSON', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${relay.baseUrl}/mcp`, { method: 'POST', headers: { Host: 'rebound.example:80', 'Content-Type': 'application/json' } }, (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      })
      req.on('error', reject)
      req.end('{}')
    })
    expect(status).toBe(403)
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'host_not_allowed' } })
  })

  it('refuses a foreign Origin, GET and DELETE, a body over the cap and malformed JSON', async () => {
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }
    const post = (body: string, extra: Record<string, string> = {}) => fetch(`${relay.baseUrl}/mcp`, { method: 'POST', headers: { ...headers, ...extra }, body })
    const list = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
    expect((await post(list, { Origin: 'http://evil.example' })).status).toBe(403)
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${relay.baseUrl}/mcp`, { method, headers })
      expect(res.status).toBe(405)
      expect(res.headers.get('allow')).toBe('POST, OPTIONS')
    }
    const tooLarge = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'ask', arguments: { question: 'x'.repeat(70_000) } } }))
    expect(tooLarge.status).toBe(413)
    const malformed = await post('{"jsonrpc":')
    expect(malformed.status).toBe(400)
    expect(((await malformed.json()) as { error: { code: number } }).error.code).toBe(-32700)
  })
})

describe('MCP over Streamable HTTP: a caller that goes away', () => {
  it('stops the model when the client cuts the connection mid-answer', async () => {
    const relay = await startRelay({ RELAY_MODEL_PATH: tinyModelPath, RELAY_MODEL_CONTEXT: '4096' })
    try {
      await waitForBackendReady(relay, 60_000)
      const active = async (): Promise<number> => {
        const health = (await (await fetch(`${relay.baseUrl}/healthz`)).json()) as { backends: { state: { active?: number } }[] }
        return health.backends[0]?.state.active ?? 0
      }
      const calls = (): { ok?: unknown }[] => relay.records.filter((record) => record.msg === 'mcp tool call')
      // A random-weight model can end its answer on its own (an end token) just before the cut
      // arrives: that attempt shows nothing, and the next one is made. A relay that does not
      // stop the model on a cut fails every attempt.
      const outcomes: unknown[] = []
      for (let attempt = 0; attempt < 3; attempt++) {
        const controller = new AbortController()
        const call = fetch(`${relay.baseUrl}/mcp`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ask', arguments: { question: 'Write a very long story.', max_tokens: 3_500 } } }),
          signal: controller.signal,
        }).catch((error: unknown) => error)
        await expect.poll(active, { timeout: 10_000, interval: 20 }).toBe(1)
        controller.abort()
        expect(await call).toBeInstanceOf(Error)
        await expect.poll(active, { timeout: 5_000, interval: 20 }).toBe(0)
        await expect.poll(() => calls().length).toBe(attempt + 1)
        const record = calls()[attempt]
        expect(record).toMatchObject({ tool: 'ask' })
        outcomes.push(record?.ok)
        if (record?.ok === false) break
      }
      expect(outcomes.at(-1), `the call was logged ok after each cut: ${JSON.stringify(outcomes)}`).toBe(false)
    } finally {
      await relay.close()
    }
  }, 90_000)
})

describe('MCP over Streamable HTTP: the rate', () => {
  it('counts every POST to /mcp against the caller, like /v1, and answers 429 past it', async () => {
    const relay = await startRelay({ RELAY_RATE_PER_MIN: '3' })
    try {
      const post = () =>
        fetch(`${relay.baseUrl}/mcp`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        })
      const statuses: number[] = []
      for (let i = 0; i < 4; i++) statuses.push((await post()).status)
      expect(statuses).toEqual([200, 200, 200, 429])
      const limited = await post()
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
      // The same caller's /v1 is limited too: one budget of requests.
      expect((await fetch(`${relay.baseUrl}/v1/models`)).status).toBe(429)
    } finally {
      await relay.close()
    }
  })
})

describe('MCP over Streamable HTTP: a RELAY_ROOMS room', () => {
  let relay: StartedRelay
  let client: Client

  beforeAll(async () => {
    const port = String(await freePort())
    relay = await startRelay({ PORT: port, RELAY_ROOMS: 'mcp-room#room-key', RELAY_SWARM_WAIT_MS: '200' }, { PORT: port })
    await waitForBackendReady(relay)
    client = await connect(relay.baseUrl, null)
  }, 30_000)

  afterAll(async () => {
    await client.close()
    await relay.close()
  })

  it('adds a signed entry, finds it by search, lists and reads it as a resource', async () => {
    const added = await client.callTool({ name: 'add_memory', arguments: { room: 'mcp-room', text: 'The relay remembers the harbour opens at dawn.', tags: ['harbour'] } })
    expect(added.isError).toBeFalsy()
    const { id, uri, author } = JSON.parse(textOf(added)) as { id: string; uri: string; author: string }
    expect(id.startsWith(`${author}/`)).toBe(true)
    expect(uri).toBe(`edgeswarm://rooms/mcp-room/memory/${encodeURIComponent(id)}`)

    const found = await client.callTool({ name: 'search_memory', arguments: { room: 'mcp-room', query: 'harbour dawn' } })
    const hits = JSON.parse(textOf(found)) as { id: string; trust: string; author: string; score: number }[]
    expect(hits).toEqual([expect.objectContaining({ id, trust: 'trusted', author })])
    expect(JSON.parse(textOf(await client.callTool({ name: 'search_memory', arguments: { room: 'mcp-room', query: 'nothing-like-it' } })))).toEqual([])

    const { resources } = await client.listResources()
    expect(resources.map((resource) => resource.uri)).toEqual([uri])
    const read = await client.readResource({ uri })
    expect(read.contents).toEqual([expect.objectContaining({ uri, mimeType: 'text/plain', text: 'The relay remembers the harbour opens at dawn.' })])
    const { resourceTemplates } = await client.listResourceTemplates()
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(['edgeswarm://rooms/{room}/memory/{id}'])
  })

  it('refuses a room not in RELAY_ROOMS, for every room tool and resource', async () => {
    for (const [name, args] of [
      ['search_memory', { query: 'x' }],
      ['add_memory', { text: 'smuggled' }],
      ['list_peers', {}],
      ['summarize', { document: 'some text' }],
      ['run_plan', { goal: 'g', plan: { steps: [{ id: 'w', role: 'writer', prompt: 'write', dependsOn: [] }] } }],
    ] as const) {
      const result = await client.callTool({ name, arguments: { room: 'other-room', ...args } })
      expect(result.isError, name).toBe(true)
      expect(textOf(result), name).toMatch(/"other-room" is not one of this relay's rooms \(RELAY_ROOMS\): mcp-room/)
    }
    const error: unknown = await client.readResource({ uri: 'edgeswarm://rooms/other-room/memory/x' }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Error)
  })

  it('lists no peers in an empty room, and says no node is ready for a job', async () => {
    expect(JSON.parse(textOf(await client.callTool({ name: 'list_peers', arguments: { room: 'mcp-room' } })))).toEqual([])
    const summary = await client.callTool({ name: 'summarize', arguments: { room: 'mcp-room', document: 'A long text. '.repeat(40) } })
    expect(summary.isError).toBe(true)
    expect(textOf(summary)).toMatch(/no node with a ready model is in room mcp-room/)
  })

  it('refuses a plan that is not a DAG before posting anything', async () => {
    const cyclic = {
      steps: [
        { id: 'a', role: 'researcher', prompt: 'look', dependsOn: ['b'] },
        { id: 'b', role: 'analyst', prompt: 'think', dependsOn: ['a'] },
        { id: 'w', role: 'writer', prompt: 'write', dependsOn: ['a', 'b'] },
      ],
    }
    const result = await client.callTool({ name: 'run_plan', arguments: { room: 'mcp-room', goal: 'g', plan: cyclic } })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toMatch(/form a cycle/)
  })
})

// The stdio entry for desktop hosts: `bin/edgeswarm-mcp.mjs` started as a child process by the
// MCP SDK's StdioClientTransport, configured by the relay's environment (the tiny GGUF as the
// embedded model): it lists the tools and answers `ask`. And what `ask` charges: the caller's day
// budget grows by what the model served, through the same Access as /v1.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/relay/log'
import { mcpDepsOf } from '../../src/relay/mcp/deps'
import { createMcpServer } from '../../src/relay/mcp/server'
import { createV1Api } from '../../src/relay/v1/api'
import { loadV1Config } from '../../src/relay/v1/config'
import { tinyModelPath, untilReady } from './backend/tiny-model'
import { textOf } from './relay-mcp/client'

describe('edgeswarm-mcp over stdio', () => {
  it('lists the tools and answers ask from the embedded model', async () => {
    let stderr = ''
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['bin/edgeswarm-mcp.mjs'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', RELAY_MODEL_PATH: tinyModelPath, RELAY_LOG: 'info' },
      stderr: 'pipe',
    })
    transport.stderr?.on('data', (data: Buffer) => (stderr += data.toString()))
    const client = new Client({ name: 'edgeswarm-stdio-test', version: '0.0.0' })
    try {
      await client.connect(transport)
      const { tools } = await client.listTools()
      expect(tools.map((tool) => tool.name)).toContain('ask')
      const answered = await client.callTool({ name: 'ask', arguments: { question: 'Hello over stdio.', max_tokens: 3 } })
      expect(answered.isError, textOf(answered)).toBeFalsy()
      expect(textOf(answered).length).toBeGreaterThan(0)
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n[edgeswarm-mcp stderr]\n${stderr}`, { cause: error })
    } finally {
      await client.close()
    }
    // The log went to stderr, one JSON line each, and never the prompt.
    expect(stderr).toMatch(/"msg":"mcp tool call"/)
    expect(stderr).not.toContain('Hello over stdio.')
  }, 90_000)

  it("charges ask's tokens to the caller's day, like /v1", async () => {
    const config = loadV1Config({ RELAY_MODEL_PATH: tinyModelPath, RELAY_DAILY_TOKENS: '100000' })
    const log = createLogger('silent')
    const v1 = createV1Api(config, log)
    const [backend] = v1.backends
    if (backend === undefined) throw new Error('no embedded backend')
    await untilReady(backend, 60_000)
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    const server = createMcpServer(mcpDepsOf(v1, config, log), 'caller-a')
    const client = new Client({ name: 'edgeswarm-budget-test', version: '0.0.0' })
    try {
      await server.connect(serverSide)
      await client.connect(clientSide)
      expect(v1.access.tokensToday('caller-a')).toBe(0)
      const answered = await client.callTool({ name: 'ask', arguments: { question: 'Count to three.', max_tokens: 4 } })
      expect(answered.isError, textOf(answered)).toBeFalsy()
      const spent = v1.access.tokensToday('caller-a')
      expect(spent).toBeGreaterThan(4)
      expect(v1.access.reservedTokens('caller-a')).toBe(0)
      expect(v1.access.tokensToday('someone-else')).toBe(0)
    } finally {
      await client.close()
      await server.close()
      await v1.close()
    }
  }, 90_000)
})

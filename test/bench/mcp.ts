// The MCP server's cost over /v1 (issue 15): one `ask` tool call through the MCP SDK's client over
// Streamable HTTP against a direct /v1 chat completion with the same messages, on the same relay
// process and the same model (the tiny GGUF, embedded), for max_tokens 1 to 8. The MCP client is
// connected once (its initialize is not counted); each call is one stateless POST to /mcp.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ensureFixture } from '../../scripts/gguf/fixture-file'
import { tinyQwen3 } from '../../scripts/gguf/specs'
import { startRelay, type RelayProcess } from './relay-process'
import { fmt, median, percentile, runSection, table } from './stats'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))
const tinyModelId = 'tiny-qwen3'
const question = 'Say hello to the world.'
const maxTokensSteps = [1, 2, 4, 8]
const warmups = 3
const runs = 30

async function untilEmbeddedReady(relay: RelayProcess): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const health = (await (await fetch(`${relay.url}/healthz`)).json()) as { backends?: { state: { state: string } }[] }
    if (health.backends?.[0]?.state.state === 'ready') return
    if (Date.now() > deadline) throw new Error('the embedded backend was not ready within 60 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function directMs(relay: RelayProcess, maxTokens: number): Promise<number> {
  const startedMs = performance.now()
  const res = await fetch(`${relay.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: tinyModelId, messages: [{ role: 'user', content: question }], max_tokens: maxTokens, temperature: 0 }),
  })
  if (!res.ok) throw new Error(`/v1 answered ${res.status}`)
  await res.json()
  return performance.now() - startedMs
}

async function mcpMs(client: Client, maxTokens: number): Promise<number> {
  const startedMs = performance.now()
  const result = await client.callTool({ name: 'ask', arguments: { question, model: tinyModelId, max_tokens: maxTokens, temperature: 0 } })
  if (result.isError === true) throw new Error(`ask failed: ${JSON.stringify(result.content)}`)
  return performance.now() - startedMs
}

async function roundTrips(): Promise<void> {
  mkdirSync(fixturesDirectory, { recursive: true })
  const modelPath = ensureFixture(fixturesDirectory, tinyQwen3).path
  const relay = await startRelay({ RELAY_MODEL_PATH: modelPath, RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', RELAY_RATE_PER_MIN: '1000000', RELAY_DAILY_TOKENS: '0' })
  const client = new Client({ name: 'edgeswarm-bench', version: '0.0.0' })
  try {
    await untilEmbeddedReady(relay)
    await client.connect(new StreamableHTTPClientTransport(new URL(`${relay.url}/mcp`)))
    const rows: string[][] = []
    for (const maxTokens of maxTokensSteps) {
      for (let i = 0; i < warmups; i++) {
        await directMs(relay, maxTokens)
        await mcpMs(client, maxTokens)
      }
      const direct: number[] = []
      const mcp: number[] = []
      // Alternating, and swapping which goes first, so drift and order fall on both sides alike.
      for (let i = 0; i < runs; i++) {
        if (i % 2 === 0) {
          direct.push(await directMs(relay, maxTokens))
          mcp.push(await mcpMs(client, maxTokens))
        } else {
          mcp.push(await mcpMs(client, maxTokens))
          direct.push(await directMs(relay, maxTokens))
        }
      }
      rows.push([
        String(maxTokens),
        fmt(median(direct)),
        fmt(percentile(direct, 90)),
        fmt(median(mcp)),
        fmt(percentile(mcp, 90)),
        fmt(median(mcp) - median(direct)),
        `${fmt(median(mcp) / median(direct), 2)}×`,
      ])
    }
    table(
      `MCP ask vs direct /v1 chat completion (embedded tiny GGUF, same relay, ${runs} runs each, alternating)`,
      ['max_tokens', '/v1 median ms', '/v1 p90', 'MCP median ms', 'MCP p90', 'MCP − /v1 ms', 'ratio'],
      rows,
    )
  } finally {
    await client.close()
    await relay.stop()
  }
}

export async function benchMcp(): Promise<void> {
  await runSection('mcp', 'round trip', roundTrips)
}

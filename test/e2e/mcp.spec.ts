// The relay's MCP server end to end: the MCP SDK's client over Streamable HTTP against the relay
// process in a RELAY_ROOMS room, with a real browser node of the room (wasm engine, tiny model).
// An entry added over MCP, signed by the relay's identity, is verified and shown by the node; one
// the node writes is found by search_memory; list_peers shows the node; ask, summarize and
// run_plan are answered by the node through the room's market.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { expect, test } from '@playwright/test'
import { expectEngineState, wasmTiny } from './support/chat'
import { startGatewayRelay, type GatewayRelay } from './support/gateway-relay'
import { textOf } from '../unit/relay-mcp/client'
import { appPath, expectMemory, freshRoom, readyAndAgreed } from './support/nodes'

test.describe('MCP server', () => {
  let relay: GatewayRelay | undefined
  let client: Client | undefined

  test.afterEach(async () => {
    await client?.close()
    client = undefined
    const testInfo = test.info()
    const current = relay
    relay = undefined
    if (current === undefined) return
    const exitCode = await current.stop()
    if (testInfo.status !== testInfo.expectedStatus || exitCode !== 0) console.error(`[mcp relay, exit ${exitCode}]\n${current.output()}`)
    expect(exitCode).toBe(0)
  })

  test("memory added over MCP shows in a browser node's memory, the node's entry is found by search, and the node answers the job tools", async ({ page }) => {
    const ref = freshRoom('mcp')
    relay = await startGatewayRelay(ref)
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
    await page.goto(`${relay.baseUrl}${appPath(ref, wasmTiny)}`)
    const nodeId = await readyAndAgreed(page, wasmTiny)
    await expectEngineState(page, 'ready')

    client = new Client({ name: 'edgeswarm-e2e', version: '0.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(`${relay.baseUrl}/mcp`)))
    const mcp = client

    // Over MCP into the room: the node verifies the relay's signature and lists the entry as trusted.
    const fromMcp = `Added over MCP to ${ref.room}: the ferry leaves at nine.`
    const added = await mcp.callTool({ name: 'add_memory', arguments: { room: ref.room, text: fromMcp, tags: ['ferry'] } })
    expect(added.isError, textOf(added)).toBeFalsy()
    const { id, author } = JSON.parse(textOf(added)) as { id: string; author: string }
    await expectMemory(page, [fromMcp])
    const seen = await page.evaluate(async (entryId) => (await globalThis.edgeswarm?.memory.list())?.find((item) => item.id === entryId), id)
    expect(seen).toMatchObject({ text: fromMcp, author, trust: 'trusted', tags: ['ferry'] })
    expect(author).not.toBe(nodeId)

    // From the node: found over MCP, as the node's own and trusted.
    const fromNode = `Written by the browser node: the lighthouse keeper is called Ines ${ref.room}.`
    const nodeEntryId = await page.evaluate((text) => globalThis.edgeswarm?.memory.add(text, ['lighthouse']), fromNode)
    await expect
      .poll(async () => JSON.parse(textOf(await mcp.callTool({ name: 'search_memory', arguments: { room: ref.room, query: 'lighthouse keeper Ines' } }))) as { id: string }[])
      .toEqual([expect.objectContaining({ id: nodeEntryId, text: fromNode, author: nodeId, trust: 'trusted' })])
    const read = await mcp.readResource({ uri: `edgeswarm://rooms/${ref.room}/memory/${encodeURIComponent(nodeEntryId ?? '')}` })
    expect(read.contents[0]).toMatchObject({ text: fromNode })

    // The node's verified presence, and its answers through the room's market.
    const peers = JSON.parse(textOf(await mcp.callTool({ name: 'list_peers', arguments: { room: ref.room } }))) as { nodeId: string; engine: { kind: string; state: string } | null }[]
    expect(peers).toEqual([expect.objectContaining({ nodeId, engine: expect.objectContaining({ kind: 'wasm' }) })])

    const asked = await mcp.callTool({ name: 'ask', arguments: { question: 'Hello, swarm.', model: `swarm/${ref.room}`, max_tokens: 4 } })
    expect(asked.isError, textOf(asked)).toBeFalsy()
    expect(textOf(asked).length).toBeGreaterThan(0)

    const document = Array.from({ length: 3 }, (_, index) => `Part ${index + 1}. ${'The harbour town keeps its boats in order. '.repeat(5)}`).join('\n\n')
    const summary = await mcp.callTool({ name: 'summarize', arguments: { room: ref.room, document, chunk_chars: 250, max_tokens: 4 } })
    expect(summary.isError, textOf(summary)).toBeFalsy()
    expect(textOf(summary).length).toBeGreaterThan(0)

    const fanned = await mcp.callTool({ name: 'fan_out', arguments: { room: ref.room, document, instruction: 'List the nouns.', chunk_chars: 250, max_tokens: 4 } })
    expect(fanned.isError, textOf(fanned)).toBeFalsy()
    const fanOut = JSON.parse(textOf(fanned)) as { parts: { executor: string }[]; combinedBy: string }
    expect(fanOut.parts.length).toBeGreaterThan(1)
    expect(new Set([...fanOut.parts.map((part) => part.executor), fanOut.combinedBy])).toEqual(new Set([nodeId]))

    const plan = {
      steps: [
        { id: 'look', role: 'researcher', prompt: 'Find facts about harbours.', dependsOn: [] },
        { id: 'final', role: 'writer', prompt: 'Write one line.', dependsOn: ['look'] },
      ],
    }
    const ran = await mcp.callTool({ name: 'run_plan', arguments: { room: ref.room, goal: 'A line about harbours.', plan, max_tokens: 4 } })
    expect(ran.isError, textOf(ran)).toBeFalsy()
    const outcome = JSON.parse(textOf(ran)) as { steps: { id: string; state: string; executor: string | null }[] }
    expect(outcome.steps).toEqual([expect.objectContaining({ id: 'look', state: 'done', executor: nodeId }), expect.objectContaining({ id: 'final', state: 'done', executor: nodeId })])
  })
})

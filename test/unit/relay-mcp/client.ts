// The MCP SDK's client as the MCP tests use it: connected over Streamable HTTP to a relay's /mcp.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'

/** A client of `baseUrl`'s /mcp, with `bearer` as its token (null: none). */
export async function connectMcp(baseUrl: string, bearer: string | null): Promise<Client> {
  const client = new Client({ name: 'edgeswarm-mcp-test', version: '0.0.0' })
  const headers: Record<string, string> = bearer === null ? {} : { Authorization: `Bearer ${bearer}` }
  await client.connect(new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), { requestInit: { headers } }))
  return client
}

/** The text of a tool result's first content item ('' when it has none). */
export const textOf = (result: unknown): string => ((result as CallToolResult).content[0] as { text?: string } | undefined)?.text ?? ''

// /mcp: the MCP server over Streamable HTTP, stateless (a fresh server and transport for each
// POST, no session kept, so nothing grows with clients and nothing expires; GET and DELETE,
// the transport's stream and session calls, answer 405). Behind what guards /v1: the Host check
// (server.ts), the Origin check against DNS rebinding, the same bearer tokens (401 in JSON), the
// per-token rate, and the body cap.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { Logger } from '../log'
import type { V1Config } from '../v1/config'
import { ApiError, originNotAllowed, toApiError } from '../v1/errors'
import { answerPreflight, originAllowed, readBody, sendV1Json, v1Headers } from '../v1/http'
import type { McpDeps } from './deps'
import { createMcpServer } from './server'

export const mcpPath = '/mcp'

export interface McpHttp {
  /** Answers a request to /mcp; `clientGroup` is the client's address group, its key for limits without tokens. */
  handle(req: IncomingMessage, res: ServerResponse, clientGroup: string): Promise<void>
}

/** JSON-RPC's error shape, as MCP clients read an HTTP error's body; a code from the server range for what HTTP says. */
function sendRpcError(req: IncomingMessage, res: ServerResponse, error: ApiError, headers: Record<string, string | number | string[]>): void {
  const code = error.status === 400 ? -32700 : -32000
  const extra: Record<string, string> = { ...error.headers }
  if (error.status === 401) extra['WWW-Authenticate'] = 'Bearer realm="edgeswarm-relay"'
  if (error.status === 413) extra.Connection = 'close'
  sendV1Json(req, res, error.status, { jsonrpc: '2.0', error: { code, message: error.message, data: { status: error.status, code: error.code } }, id: null }, { ...headers, ...extra })
}

export function createMcpHttp(deps: McpDeps, config: Pick<V1Config, 'corsOrigins' | 'maxBodyBytes'>, log: Logger): McpHttp {
  async function serve(req: IncomingMessage, res: ServerResponse, caller: string): Promise<void> {
    const body = await readBody(req, config.maxBodyBytes)
    let message: unknown
    try {
      message = JSON.parse(body)
    } catch (error) {
      throw new ApiError(400, `malformed JSON in the request body: ${error instanceof Error ? error.message : String(error)}`, 'invalid_request_error', 'invalid_json')
    }
    const server = createMcpServer(deps, caller)
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true }) // no sessionIdGenerator: stateless
    res.once('close', () => {
      transport.close().catch((error: unknown) => log.debug('mcp transport close failed', { error }))
      server.close().catch((error: unknown) => log.debug('mcp server close failed', { error }))
    })
    await server.connect(transport)
    await transport.handleRequest(req, res, message)
  }

  return {
    async handle(req, res, clientGroup) {
      const startedMs = Date.now()
      const headers = v1Headers(req, config.corsOrigins) as Record<string, string | number | string[]>
      const entry: Record<string, unknown> = { method: req.method }
      res.on('error', (error) => log.debug('mcp response error', { error }))
      try {
        if (req.method === 'OPTIONS') {
          answerPreflight(req, res, config.corsOrigins)
          return
        }
        if (!originAllowed(req, config.corsOrigins)) {
          throw originNotAllowed(req.headers.origin)
        }
        const caller = deps.access.authenticate(req, clientGroup)
        if (req.method !== 'POST') {
          throw new ApiError(
            405,
            `method ${req.method ?? ''} is not allowed on ${mcpPath}: this MCP server is stateless (no stream to GET, no session to DELETE); POST JSON-RPC`,
            'invalid_request_error',
            'method_not_allowed',
            null,
            { Allow: 'POST, OPTIONS' },
          )
        }
        deps.access.admit(caller)
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
        await serve(req, res, caller)
      } catch (error) {
        const apiError = toApiError(error)
        entry.error = apiError.code
        if (apiError.status >= 500) log.warn('mcp request failed', { error })
        if (!res.headersSent) sendRpcError(req, res, apiError, headers)
        else res.destroy()
      } finally {
        log.info('mcp request', { ...entry, status: res.headersSent ? res.statusCode : 499, latencyMs: Date.now() - startedMs })
      }
    },
  }
}

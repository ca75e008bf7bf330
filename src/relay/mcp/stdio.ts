// The MCP server over stdio, for desktop hosts (Claude Desktop, Cursor, Continue): `edgeswarm-mcp`
// (bin/edgeswarm-mcp.mjs) runs this. It runs the backends in this process from the relay's own
// environment (RELAY_MODEL_PATH, RELAY_UPSTREAM_URL(S), RELAY_ROOMS …: src/relay/v1/config.ts),
// so no relay needs to be running, except that RELAY_ROOMS joins its rooms through a relay's
// signaling (RELAY_SWARM_SIGNALING_URL, default the relay on PORT). The host that starts it is
// its only client: no tokens and no rate, but the day budget (RELAY_DAILY_TOKENS) holds. The log
// goes to stderr; stdout carries the protocol.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { loadConfig, RelayConfigError, type Env } from '../config'
import { createLogger, type LogLevel } from '../log'
import { createV1Api } from '../v1/api'
import { loadV1Config, type V1Config } from '../v1/config'
import { mcpDepsOf } from './deps'
import { createMcpServer } from './server'

/** The caller key of the stdio host, for the day budget. */
export const stdioCaller = 'stdio'

/** Serves MCP on stdin/stdout until stdin ends or a signal comes; resolves with the exit code. */
export async function runStdio(env: Env): Promise<number> {
  let v1Config: V1Config
  let logLevel: LogLevel
  try {
    const config = loadConfig(env)
    logLevel = config.logLevel
    v1Config = loadV1Config(env, config.host)
  } catch (error) {
    if (error instanceof RelayConfigError) {
      process.stderr.write(`edgeswarm-mcp: ${error.message}\n`)
      return 2
    }
    throw error
  }
  const log = createLogger(logLevel, (line) => process.stderr.write(`${line}\n`))
  const v1 = createV1Api(v1Config, log)
  const server = createMcpServer(mcpDepsOf(v1, v1Config, log), stdioCaller)
  const transport = new StdioServerTransport()
  const ended = new Promise<string>((resolve) => {
    process.stdin.once('end', () => resolve('stdin ended'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
    transport.onclose = () => resolve('transport closed')
  })
  await server.connect(transport)
  log.info('edgeswarm-mcp serving on stdio', { backends: v1.backends.map((backend) => backend.name) })
  const why = await ended
  log.info('edgeswarm-mcp stopping', { why })
  v1.stop()
  await server.close().catch((error: unknown) => log.debug('mcp server close failed', { error }))
  await v1.close()
  return 0
}

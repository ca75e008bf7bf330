#!/usr/bin/env node
// `npx edgeswarm-mcp`: the relay's MCP server over stdio for desktop hosts (src/relay/mcp/stdio.ts),
// configured by the relay's environment variables. The sources are TypeScript, run through tsx.
import { register } from 'tsx/esm/api'

register()
const { runStdio } = await import('../src/relay/mcp/stdio.ts')
// Exits once it has stopped: a backend's native handles must not keep the host waiting.
process.exit(await runStdio(process.env))

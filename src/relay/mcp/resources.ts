// The MCP resources: each RELAY_ROOMS room's memory entries, one resource per entry at
// `edgeswarm://rooms/{room}/memory/{id}` (the id URI-encoded: it holds a slash), listed newest
// first and read as text. Entries nobody verifiable signed are listed flagged, as the app shows them.
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { McpDeps } from './deps'
import { McpToolError } from './deps'
import { entryUri, memoryEntries } from './rooms'

/** Entries listed per room at most (a room keeps up to 5000). */
const listedPerRoom = 500

const one = (value: string | string[] | undefined): string => (Array.isArray(value) ? (value[0] ?? '') : (value ?? ''))

export function registerResources(server: McpServer, deps: McpDeps): void {
  const template = new ResourceTemplate('edgeswarm://rooms/{room}/memory/{id}', {
    list: async (extra) => {
      const names = deps.rooms?.names() ?? []
      const perRoom = await Promise.all(names.map(async (name) => ({ name, entries: (await memoryEntries(deps, name, extra.signal)).slice(0, listedPerRoom) })))
      return {
        resources: perRoom.flatMap(({ name, entries }) =>
          entries.map((entry) => ({
            uri: entryUri(name, entry.id),
            name: entry.text.slice(0, 60),
            description: `room ${name}, by ${entry.author}, ${entry.trust}${entry.tags.length > 0 ? `, tags ${entry.tags.join(' ')}` : ''}`,
            mimeType: 'text/plain',
          })),
        ),
      }
    },
    complete: { room: () => deps.rooms?.names() ?? [] },
  })
  server.registerResource('room-memory', template, { description: "An entry of a room's shared memory (RELAY_ROOMS)", mimeType: 'text/plain' }, async (uri, variables, extra) => {
    const room = one(variables.room)
    const id = decodeURIComponent(one(variables.id))
    const entry = (await memoryEntries(deps, room, extra.signal)).find((item) => item.id === id)
    if (entry === undefined) throw new McpToolError(`room ${room} has no memory entry ${id}`)
    return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: entry.text, _meta: { author: entry.author, tags: entry.tags, trust: entry.trust, updatedAt: entry.updatedAt } }] }
  })
}

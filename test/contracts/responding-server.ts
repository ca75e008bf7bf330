// A real HTTP server that answers each POST with the relay's own parser and `respond` over a
// backend, as /v1 does, minus access control: the backend suites reach a backend through it.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Backend } from '../../src/relay/v1/backend'
import { ApiError } from '../../src/relay/v1/errors'
import { parseChatRequest } from '../../src/relay/v1/request'
import { respond } from '../../src/relay/v1/respond'

const caps = { maxMessages: 256, maxTokens: 4096 }

/** A real HTTP server that answers each POST with `respond` over `backend`, as /v1 does. */
export async function respondingServer(backend: Backend): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (part: Buffer) => (body += part.toString('utf8')))
    req.on('end', () => {
      const controller = new AbortController()
      res.on('close', () => controller.abort())
      const answer = async (): Promise<void> => {
        const request = parseChatRequest(body, caps)
        await respond(req, res, request, backend.chat(request, controller.signal), {})
      }
      answer().catch((error: unknown) => {
        if (res.headersSent) return
        res.writeHead(error instanceof ApiError ? error.status : 500, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify(error instanceof ApiError ? error.toBody() : { error: { message: String(error) } }))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

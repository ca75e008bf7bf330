// A real HTTP server that answers each POST with the relay's own `respond` over a backend, as
// /v1 does, minus the relay's checks: the backend suites reach a backend through it over HTTP.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Backend, BackendRequest } from '../../src/relay/v1/backend'
import { ApiError } from '../../src/relay/v1/errors'
import { respond } from '../../src/relay/v1/respond'

/** A real HTTP server that answers each POST with `respond` over `backend`, as /v1 does. */
export async function respondingServer(backend: Backend): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (part: Buffer) => (body += part.toString('utf8')))
    req.on('end', () => {
      const request = JSON.parse(body) as BackendRequest
      const controller = new AbortController()
      res.on('close', () => controller.abort())
      respond(req, res, request, backend.chat(request, controller.signal), {}).catch((error: unknown) => {
        if (res.headersSent) return
        res.writeHead(error instanceof ApiError ? error.status : 500, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify(error instanceof ApiError ? error.toBody() : { error: { message: String(error) } }))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

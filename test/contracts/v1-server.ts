// A real HTTP server running the relay's /v1 (createV1Api: its routes, parsing, errors and SSE)
// over one backend, with no tokens: the backend suites reach routes beyond chat through it.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLogger } from '../../src/relay/log'
import { createV1Api } from '../../src/relay/v1/api'
import type { Backend } from '../../src/relay/v1/backend'
import { loadV1Config } from '../../src/relay/v1/config'

/** `baseUrl` ends in `/v1`; `close` stops the server, never the backend (its suite closes it). */
export async function v1Server(backend: Backend): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const api = createV1Api(loadV1Config({ RELAY_RATE_PER_MIN: '100000' }), createLogger('silent'), [backend])
  const server: Server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    void api.handle(req, res, pathname, 'test')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

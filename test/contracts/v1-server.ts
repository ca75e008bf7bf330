// A real HTTP server that answers with the relay's own /v1 (createV1Api: its routes, parsing,
// sampling checks and answers) over one backend, with no tokens: the backend suites reach a
// backend through it with the official `openai` client. The suite closes the backend itself.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI from 'openai'
import { createLogger } from '../../src/relay/log'
import { createV1Api } from '../../src/relay/v1/api'
import type { Backend } from '../../src/relay/v1/backend'
import { loadV1Config } from '../../src/relay/v1/config'

export interface V1Server {
  /** `http://127.0.0.1:PORT/v1` */
  baseUrl: string
  client: OpenAI
  close(): Promise<void>
}

export async function v1Server(backend: Backend): Promise<V1Server> {
  const api = createV1Api({ ...loadV1Config({}), ratePerMin: 100_000 }, createLogger('silent'), [backend])
  const server: Server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    void api.handle(req, res, pathname, 'suite')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  return {
    baseUrl,
    client: new OpenAI({ baseURL: baseUrl, apiKey: 'none', maxRetries: 0, timeout: 30_000 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

// The API trees on the whole relay, with the app's index.html in its static directory: an
// unknown path under /v1 or /api is a JSON 404 in that tree's error shape (OpenAI's, Ollama's),
// never the app; a known path with the wrong method is a 405 with Allow; HEAD goes with GET.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRelay, type StartedRelay } from './relay-v1/start'

const appPage = '<!doctype html><title>edgeswarm</title>'

describe('API paths on a relay that serves the app', () => {
  let relay: StartedRelay
  let staticDir: string
  beforeAll(async () => {
    staticDir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-routes-'))
    await writeFile(path.join(staticDir, 'index.html'), appPage)
    relay = await startRelay({}, { RELAY_STATIC_DIR: staticDir })
  })
  afterAll(async () => {
    await relay.close()
    await rm(staticDir, { recursive: true, force: true })
  })

  const request = (pathname: string, method = 'GET'): Promise<Response> => fetch(`${relay.baseUrl}${pathname}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) })

  it('serves the app itself outside the API trees (the check below means something)', async () => {
    const page = await request('/')
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>edgeswarm</title>')
  })

  it('answers unknown /v1 paths, GET or POST, with a JSON 404 in OpenAI’s error shape that lists what is served', async () => {
    for (const [pathname, method] of [
      ['/v1', 'GET'],
      ['/v1/', 'GET'],
      ['/v1/engines', 'GET'],
      ['/v1/chat', 'POST'],
      ['/v1/chat/completions/extra', 'POST'],
      ['/v1/index.html', 'GET'],
    ] as const) {
      const response = await request(pathname, method)
      expect(response.status, pathname).toBe(404)
      expect(response.headers.get('content-type'), pathname).toMatch(/^application\/json/)
      const body = (await response.json()) as { error: { message: string; type: string; code: string } }
      expect(body.error, pathname).toMatchObject({ type: 'invalid_request_error', code: 'not_found' })
      expect(body.error.message).toContain('POST /v1/completions')
      expect(body.error.message).toContain('GET /v1/models/{id}')
    }
  })

  it('answers unknown /api paths with JSON in Ollama’s error shape, and /api/tags is never the app’s index.html', async () => {
    for (const pathname of ['/api', '/api/', '/api/nothing-here', '/api/tags', '/api/version']) {
      const response = await request(pathname)
      expect(response.headers.get('content-type'), pathname).toMatch(/^application\/json/)
      const text = await response.text()
      expect(text, pathname).not.toContain('<title>')
      // Ollama's routes may answer some of these; what is not served is a 404 with a string error.
      if (response.status !== 200) {
        expect(response.status, pathname).toBe(404)
        expect(typeof (JSON.parse(text) as { error: unknown }).error, pathname).toBe('string')
      }
    }
    const unknown = await request('/api/nothing-here')
    expect(unknown.status).toBe(404)
  })

  it('answers a known path with the wrong method with a 405 naming the methods it takes (Allow)', async () => {
    for (const [pathname, method, allow] of [
      ['/v1/chat/completions', 'GET', 'POST'],
      ['/v1/completions', 'GET', 'POST'],
      ['/v1/completions', 'HEAD', 'POST'],
      ['/v1/completions', 'PUT', 'POST'],
      ['/v1/models', 'POST', 'GET, HEAD'],
      ['/v1/models/some-model', 'DELETE', 'GET, HEAD'],
    ] as const) {
      const response = await request(pathname, method)
      expect(response.status, `${method} ${pathname}`).toBe(405)
      expect(response.headers.get('allow'), `${method} ${pathname}`).toBe(allow)
      if (method !== 'HEAD') expect(await response.json()).toMatchObject({ error: { code: 'method_not_allowed' } })
    }
  })

  it('answers HEAD where GET is served, with GET’s status and no body', async () => {
    const models = await request('/v1/models', 'HEAD')
    expect(models.status).toBe(200)
    expect(models.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await models.text()).toBe('')
    const missing = await request('/v1/models/not-here', 'HEAD')
    expect(missing.status).toBe(404)
    expect(await missing.text()).toBe('')
  })
})

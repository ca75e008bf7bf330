// The model cache against what it may find on disk: an index entry that points outside the
// cache, or at a file cut short, is not trusted (the model is fetched again); a server that
// refuses connections fails the download in bounded time; and a relay that closes mid-download
// stops it and settles.
import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/relay/log'
import { fetchModel, ModelDownloadError } from '../../src/relay/models/download'
import type { RemoteModel } from '../../src/relay/models/ref'
import { createEmbeddedBackend } from '../../src/relay/v1/embedded'
import { tinyModelPath } from './backend/tiny-model'
import { startHfStandIn, type HfStandIn } from './relay-models/hf-stand-in'
import { closedPort, waitFor } from './relay-v1/start'

const bytes = readFileSync(tinyModelPath)
const file = { owner: 'edgeswarm-test', repo: 'tiny-qwen3-GGUF', tag: 'Q8_0', name: 'tiny-qwen3-Q8_0.gguf', revision: 'main', bytes }
const ref = 'hf:edgeswarm-test/tiny-qwen3-GGUF:Q8_0'
const silent = createLogger('silent')

describe('the model cache', () => {
  let standIn: HfStandIn
  let cacheDir: string
  let model: RemoteModel

  beforeEach(async () => {
    standIn = await startHfStandIn([file])
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-model-cache-'))
    model = { ref, id: 'edgeswarm-test/tiny-qwen3-GGUF:Q8_0', cacheDir, hfEndpoint: standIn.url }
  })

  afterEach(async () => {
    await standIn.close()
    await rm(cacheDir, { recursive: true, force: true })
  })

  const fetchIt = async (): Promise<string> => fetchModel(await import('node-llama-cpp'), model, { log: silent, signal: new AbortController().signal, onProgress: () => undefined })

  it('does not follow an index entry out of the cache, nor take a file cut short', async () => {
    const outside = path.join(cacheDir, '..', `${path.basename(cacheDir)}-outside.gguf`)
    await writeFile(outside, bytes)
    try {
      await writeFile(path.join(cacheDir, 'refs.json'), JSON.stringify({ [ref]: { file: `../${path.basename(outside)}`, bytes: bytes.length } }))
      const first = await fetchIt()
      expect(path.dirname(first)).toBe(cacheDir)
      expect(standIn.fileDownloads().length).toBeGreaterThan(0)
      expect(JSON.parse(await readFile(path.join(cacheDir, 'refs.json'), 'utf8'))).toEqual({ [ref]: { file: path.basename(first), bytes: bytes.length } })

      // Cut short after it was recorded (a disk filled, a copy interrupted): fetched again, whole.
      const before = standIn.fileDownloads().length
      await writeFile(first, bytes.subarray(0, 1000))
      const again = await fetchIt()
      expect(again).toBe(first)
      expect(standIn.fileDownloads().length).toBeGreaterThan(before)
      expect(readFileSync(again).equals(bytes)).toBe(true)
    } finally {
      await rm(outside, { force: true })
    }
  }, 60_000)

  it('a server that refuses every connection fails the download once no data came for the stall limit', async () => {
    const port = await closedPort()
    const refused = { ...model, ref: `http://127.0.0.1:${port}/models/tiny.gguf`, hfEndpoint: null }
    const startedMs = Date.now()
    await expect(fetchModel(await import('node-llama-cpp'), refused, { log: silent, signal: new AbortController().signal, onProgress: () => undefined, stallMs: 1_000 })).rejects.toThrow(
      new ModelDownloadError(`cannot download RELAY_MODEL=${refused.ref}: no data came for 1 s (is the server reachable?)`),
    )
    expect(Date.now() - startedMs).toBeLessThan(10_000)
  })

  it('a backend closed mid-download stops the download, settles, and answers 503 after', async () => {
    standIn.hold()
    const backend = createEmbeddedBackend({ remote: model, concurrency: 1, threads: 1, contextSize: 1024, maxQueue: 4, gpu: false }, silent)
    await waitFor(() => standIn.holding(), 30_000)
    await waitFor(() => {
      const state = backend.state()
      return state.state === 'loading' && (state.download?.downloadedBytes ?? 0) > 0
    }, 30_000)
    await backend.close()
    expect(backend.state()).toEqual({ state: 'unreachable', reason: 'closed' })
    const chunks: unknown[] = []
    await expect(
      (async () => {
        for await (const chunk of backend.chat({ model: model.id, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }, new AbortController().signal)) chunks.push(chunk)
      })(),
    ).rejects.toMatchObject({ status: 503, code: 'backend_closed' })
    expect(chunks).toEqual([])
    expect((await readdir(cacheDir)).filter((name) => name.endsWith('.gguf'))).toEqual([])
  }, 60_000)
})

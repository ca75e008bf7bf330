// RELAY_MODEL as configuration: the reference forms, the id clients name, where the cache goes,
// what refuses to start; the download's log lines; and an embedded backend whose node-llama-cpp
// fails to import, as where npm left it out.
import { describe, expect, it } from 'vitest'
import { RelayConfigError } from '../../src/relay/config'
import { createLogger } from '../../src/relay/log'
import { EmbeddedUnavailableError } from '../../src/relay/models/llama-cpp'
import { progressLogger, progressBar } from '../../src/relay/models/progress'
import { modelCacheDir, modelRefId } from '../../src/relay/models/ref'
import { loadV1Config } from '../../src/relay/v1/config'
import { createEmbeddedBackend } from '../../src/relay/v1/embedded'
import { tinyModelPath } from './backend/tiny-model'

const home = { HOME: '/home/relay' }

function configError(env: Record<string, string>): string {
  try {
    loadV1Config(env, '127.0.0.1', '/srv')
  } catch (error) {
    if (error instanceof RelayConfigError) return error.message
    throw error
  }
  throw new Error('the configuration was accepted')
}

describe('RELAY_MODEL', () => {
  it('takes hf: references and URLs, each named by an id without scheme, revision or .gguf', () => {
    expect(modelRefId('hf:Qwen/Qwen3-0.6B-GGUF:Q8_0')).toEqual({ id: 'Qwen/Qwen3-0.6B-GGUF:Q8_0' })
    expect(modelRefId('hf:Qwen/Qwen3-0.6B-GGUF')).toEqual({ id: 'Qwen/Qwen3-0.6B-GGUF' })
    expect(modelRefId('hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf')).toEqual({ id: 'Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0' })
    expect(modelRefId('hf:Qwen/Qwen3-0.6B-GGUF/sub/dir/Qwen3-0.6B-Q8_0.gguf#0123456789abcdef0123456789abcdef01234567')).toEqual({ id: 'Qwen/Qwen3-0.6B-GGUF/sub/dir/Qwen3-0.6B-Q8_0' })
    expect(modelRefId('https://example.org/models/qwen3-0.6b-q8_0.gguf?download=true')).toEqual({ id: 'qwen3-0.6b-q8_0' })
  })

  it('configures the embedded backend with the reference, its cache under RELAY_DATA_DIR/models and the endpoint', () => {
    const config = loadV1Config({ ...home, RELAY_MODEL: 'hf:Qwen/Qwen3-0.6B-GGUF:Q8_0', RELAY_DATA_DIR: 'data', RELAY_HF_ENDPOINT: 'http://mirror.local:8080' }, '127.0.0.1', '/srv')
    expect(config.embedded?.modelPath).toBeUndefined()
    expect(config.embedded?.remote).toEqual({ ref: 'hf:Qwen/Qwen3-0.6B-GGUF:Q8_0', id: 'Qwen/Qwen3-0.6B-GGUF:Q8_0', cacheDir: '/srv/data/models', hfEndpoint: 'http://mirror.local:8080/' })
    expect(loadV1Config({ ...home, RELAY_MODEL_PATH: 'm/x.gguf' }, '127.0.0.1', '/srv').embedded?.modelPath).toBe('/srv/m/x.gguf')
    expect(loadV1Config({}, '127.0.0.1', '/srv').embedded).toBeNull()
  })

  it('caches in RELAY_DATA_DIR/models, else the XDG cache, else ~/.cache; with none of them it refuses to start', () => {
    expect(modelCacheDir({ RELAY_DATA_DIR: '/var/lib/relay', XDG_CACHE_HOME: '/c', ...home }, '/srv')).toBe('/var/lib/relay/models')
    expect(modelCacheDir({ XDG_CACHE_HOME: '/c', ...home }, '/srv')).toBe('/c/edgeswarm-relay/models')
    expect(modelCacheDir({ XDG_CACHE_HOME: 'relative', ...home }, '/srv')).toBe('/home/relay/.cache/edgeswarm-relay/models')
    expect(configError({ RELAY_MODEL: 'hf:a/b:Q4_K_M' })).toContain('RELAY_MODEL needs a directory to keep the download in: set RELAY_DATA_DIR')
  })

  it('refuses RELAY_MODEL with RELAY_MODEL_PATH, and references it cannot resolve, each saying what it expects', () => {
    expect(configError({ ...home, RELAY_MODEL: 'hf:a/b:Q4_K_M', RELAY_MODEL_PATH: 'x.gguf' })).toContain('RELAY_MODEL and RELAY_MODEL_PATH are both set')
    const expected = 'expected hf:owner/repo:quant, hf:owner/repo/file.gguf (optionally #revision) or an https:// URL of a .gguf file; a local file goes in RELAY_MODEL_PATH'
    for (const ref of ['hf:just-a-name', 'hf:owner/repo/file.bin', 'hf:/repo:Q4', 'hf:owner/repo:Q4 K', 'models/qwen.gguf', 'qwen3']) {
      expect(configError({ ...home, RELAY_MODEL: ref }), ref).toContain(expected)
    }
    expect(configError({ ...home, RELAY_MODEL: 'ftp://example.org/x.gguf' })).toContain('a URL must be https:// (or http://)')
    expect(configError({ ...home, RELAY_MODEL: 'https://example.org/models/' })).toContain('the URL must name a .gguf file')
    expect(configError({ ...home, RELAY_MODEL: 'https://user:secret@example.org/x.gguf' })).toContain('credentials do not belong in the URL')
    expect(configError({ ...home, RELAY_MODEL: 'hf:a/b:Q4_K_M', RELAY_HF_ENDPOINT: 'mirror.local' })).toContain('RELAY_HF_ENDPOINT="mirror.local": expected an http(s) URL')
  })
})

describe('download progress in the log', () => {
  it('logs a line with a bar each 10 %, and after 5 s without one, never a line per report', () => {
    const lines: Record<string, unknown>[] = []
    let nowMs = 0
    const report = progressLogger(
      createLogger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
      { model: 'm' },
      () => nowMs,
    )
    const total = 1_000_000
    for (let bytes = 0; bytes <= total; bytes += 1_000) report({ downloadedBytes: bytes, totalBytes: total })
    expect(lines.map((line) => line.percent)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    expect(lines[4]).toMatchObject({ msg: 'embedded model downloading [########------------] 40% (0.4 MB of 1.0 MB)', model: 'm', downloadedBytes: 400_000, totalBytes: total })
    // A download that crawls still shows it moves.
    nowMs = 5_000
    report({ downloadedBytes: total, totalBytes: total })
    expect(lines).toHaveLength(12)
    expect(progressBar(0)).toBe('[--------------------]')
    expect(progressBar(100)).toBe('[####################]')
  })
})

describe('node-llama-cpp missing', () => {
  it('fails the embedded backend with one message saying what is missing; requests get a 503', async () => {
    const lines: Record<string, unknown>[] = []
    const log = createLogger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>))
    const missing = Object.assign(new Error("Cannot find package 'node-llama-cpp' imported from /srv/relay"), { code: 'ERR_MODULE_NOT_FOUND' })
    const backend = createEmbeddedBackend({ modelPath: tinyModelPath, concurrency: 1, threads: 1, contextSize: 1024, maxQueue: 4, gpu: false }, log, {
      importLlamaCpp: () => Promise.reject(missing),
    })
    const answer = backend.chat({ model: 'tiny-qwen3', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }, new AbortController().signal)
    const chunks: unknown[] = []
    await expect(
      (async () => {
        for await (const chunk of answer) chunks.push(chunk)
      })(),
    ).rejects.toMatchObject({ status: 503, code: 'backend_failed' })
    expect(chunks).toEqual([])
    const state = backend.state()
    expect(state.state).toBe('failed')
    const reason = state.state === 'failed' ? state.reason : ''
    expect(reason).toBe(
      `the embedded backend needs node-llama-cpp's prebuilt binaries for ${process.platform}-${process.arch}; node-llama-cpp could not be loaded (Cannot find package 'node-llama-cpp' imported from /srv/relay). ` +
        `Install them (npm install with optional dependencies: node-llama-cpp and @node-llama-cpp/${process.platform}-${process.arch}), or unset RELAY_MODEL and RELAY_MODEL_PATH; the rest of the relay (the app, signaling, upstreams, the swarm) runs without them`,
    )
    const failures = lines.filter((line) => line.level === 'error')
    expect(failures).toEqual([expect.objectContaining({ msg: 'embedded model failed to load', error: { name: new EmbeddedUnavailableError('').name, message: reason } })])
    await backend.close()
  })
})

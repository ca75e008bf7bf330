// Models by name: the real relay process resolves RELAY_MODEL=hf:… through a stand-in for
// Hugging Face (no network here), downloads the tiny GGUF with its progress in the log and in
// /healthz, answers 503 while it downloads, then chats; a second start reads the cache and asks
// the stand-in nothing. Also a plain URL, a reference that does not exist, one that cannot be a
// reference (the relay refuses to start), and a relay whose node-llama-cpp is missing.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tinyModelPath } from './backend/tiny-model'
import { startHfStandIn, type HfStandIn } from './relay-models/hf-stand-in'
import { startRelayProcess, type RelayProcess } from './relay-fuzz/relay-process'
import { startFakeUpstream } from './relay-v1/fake-upstream'

const repoRoot = path.resolve(import.meta.dirname, '../..')
const blockModules = path.join(import.meta.dirname, 'relay-models', 'block-modules.mjs')
const bytes = readFileSync(tinyModelPath)
const revision = '0123456789abcdef0123456789abcdef01234567'
const file = { owner: 'edgeswarm-test', repo: 'tiny-qwen3-GGUF', tag: 'Q8_0', name: 'tiny-qwen3-Q8_0.gguf', revision, bytes }
const ref = 'hf:edgeswarm-test/tiny-qwen3-GGUF:Q8_0'
const modelEnv = { RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', RELAY_MODEL_CONTEXT: '1024' }

interface Health {
  backends?: { name: string; state: { state: string; reason?: string; download?: { downloadedBytes: number; totalBytes: number } } }[]
}

const embeddedState = (health: unknown): NonNullable<Health['backends']>[number]['state'] | undefined => (health as Health).backends?.find((backend) => backend.name === 'embedded')?.state

async function health(relay: RelayProcess): Promise<unknown> {
  return (await fetch(`${relay.baseUrl}/healthz`)).json()
}

async function until(relay: RelayProcess, condition: (health: unknown) => boolean, timeoutMs = 60_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const seen = await health(relay)
    if (condition(seen)) return seen
    if (embeddedState(seen)?.state === 'failed') throw new Error(`the embedded backend failed: ${embeddedState(seen)?.reason ?? ''}\n${relay.output()}`)
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${JSON.stringify(seen)}\n${relay.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const isReady = (seen: unknown): boolean => embeddedState(seen)?.state === 'ready'

async function chat(relay: RelayProcess, model: string): Promise<Response> {
  return fetch(`${relay.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hi.' }], max_tokens: 4, temperature: 0 }),
  })
}

const logRecords = (relay: RelayProcess): Record<string, unknown>[] =>
  relay
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return []
      }
    })

describe('RELAY_MODEL by name', () => {
  let standIn: HfStandIn
  let dataDir: string
  const relays: RelayProcess[] = []

  beforeEach(async () => {
    standIn = await startHfStandIn([file])
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-models-'))
  })

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()))
    await standIn.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  /** The relay once it answers, and then once `ready` holds (node-llama-cpp's start is slow on a busy machine). */
  async function start(env: Record<string, string>, ready: (health: unknown) => boolean): Promise<RelayProcess> {
    const relay = await startRelayProcess({ RELAY_HF_ENDPOINT: standIn.url, RELAY_DATA_DIR: dataDir, ...modelEnv, ...env }, (seen) => embeddedState(seen) !== undefined)
    relays.push(relay)
    await until(relay, ready)
    return relay
  }

  it('downloads hf:owner/repo:quant on first start with progress in the log and /healthz, answers 503 meanwhile, chats, and a second start reads the cache', async () => {
    standIn.hold()
    const first = await start({ RELAY_MODEL: ref }, (seen) => (embeddedState(seen)?.download?.downloadedBytes ?? 0) > 0)

    // Halfway: /healthz shows the bytes, /v1 says it is loading and how far it got.
    await until(first, () => standIn.holding())
    const midway = embeddedState(await health(first))
    expect(midway).toMatchObject({ state: 'loading', download: { totalBytes: bytes.length } })
    expect(midway?.download?.downloadedBytes).toBeLessThan(bytes.length)
    const loading = await chat(first, ref)
    expect(loading.status).toBe(503)
    expect(loading.headers.get('retry-after')).toBe('10')
    const refusal = (await loading.json()) as { error: { code: string; message: string } }
    expect(refusal.error.code).toBe('model_loading')
    expect(refusal.error.message).toMatch(/^the embedded model edgeswarm-test\/tiny-qwen3-GGUF:Q8_0 is loading: downloading, \d+% \(0\.\d MB of 0\.4 MB\); ask again later$/)

    standIn.release()
    await until(first, isReady)
    const answer = await chat(first, 'edgeswarm-test/tiny-qwen3-GGUF:Q8_0')
    expect(answer.status).toBe(200)
    expect(((await answer.json()) as { model: string }).model).toBe('edgeswarm-test/tiny-qwen3-GGUF:Q8_0')
    const models = (await (await fetch(`${first.baseUrl}/v1/models`)).json()) as { data: { id: string }[] }
    expect(models.data.map((model) => model.id)).toEqual(['edgeswarm-test/tiny-qwen3-GGUF:Q8_0'])

    const records = logRecords(first)
    const progress = records.filter((record) => typeof record.msg === 'string' && record.msg.startsWith('embedded model downloading'))
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.length).toBeLessThanOrEqual(12)
    expect(progress.at(-1)).toMatchObject({ model: 'edgeswarm-test/tiny-qwen3-GGUF:Q8_0', ref, totalBytes: bytes.length })
    expect(progress.map((record) => record.msg)).toContain(`embedded model downloading [####################] 100% (0.4 MB of 0.4 MB)`)
    expect(records).toContainEqual(expect.objectContaining({ msg: 'embedded model downloaded', bytes: bytes.length }))
    expect(await readdir(path.join(dataDir, 'models'))).toEqual(expect.arrayContaining(['refs.json', 'hf_edgeswarm-test_tiny-qwen3.Q8_0.gguf']))
    expect(standIn.requests.filter((request) => request.path.startsWith('/v2/'))).toHaveLength(1)
    expect(standIn.fileDownloads().length).toBeGreaterThan(0)
    await first.stop()

    // Second start: from the cache, and not one request to the stand-in.
    const seenBefore = standIn.requests.length
    const second = await start({ RELAY_MODEL: ref }, isReady)
    expect((await chat(second, ref)).status).toBe(200)
    expect(standIn.requests.length).toBe(seenBefore)
    expect(logRecords(second)).toContainEqual(expect.objectContaining({ msg: 'embedded model found in the cache', ref }))
  }, 180_000)

  it('downloads a file pinned to a revision, and a plain URL', async () => {
    const pinned = await start({ RELAY_MODEL: `hf:edgeswarm-test/tiny-qwen3-GGUF/tiny-qwen3-Q8_0.gguf#${revision}` }, isReady)
    expect((await chat(pinned, 'edgeswarm-test/tiny-qwen3-GGUF/tiny-qwen3-Q8_0')).status).toBe(200)
    expect(standIn.fileDownloads().every((request) => request.path === `/edgeswarm-test/tiny-qwen3-GGUF/resolve/${revision}/tiny-qwen3-Q8_0.gguf`)).toBe(true)
    await pinned.stop()

    const url = `${standIn.url}files/tiny-qwen3-Q8_0.gguf`
    // Not on the Hugging Face endpoint's host, where node-llama-cpp would read /files/… as a repo.
    const plain = await start({ RELAY_MODEL: url, RELAY_HF_ENDPOINT: '' }, isReady)
    expect((await chat(plain, 'tiny-qwen3-Q8_0')).status).toBe(200)
    expect((await chat(plain, url)).status).toBe(200)
    expect(standIn.fileDownloads().some((request) => request.path === '/files/tiny-qwen3-Q8_0.gguf')).toBe(true)
  }, 180_000)

  it('a reference the server does not have fails the embedded backend with a clear reason; the relay serves on', async () => {
    const relay = await start({ RELAY_MODEL: 'hf:edgeswarm-test/tiny-qwen3-GGUF:Q2_K' }, (seen) => embeddedState(seen)?.state === 'failed')
    const state = embeddedState(await health(relay))
    expect(state?.reason).toBe(
      `cannot download RELAY_MODEL=hf:edgeswarm-test/tiny-qwen3-GGUF:Q2_K from ${standIn.url}: Cannot get quantization "Q2_K" for model "hf:edgeswarm-test/tiny-qwen3-GGUF" or it does not exist`,
    )
    const answer = await chat(relay, 'edgeswarm-test/tiny-qwen3-GGUF:Q2_K')
    expect(answer.status).toBe(503)
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('backend_failed')
    expect(await readdir(path.join(dataDir, 'models'))).toEqual([])
  }, 90_000)

  it('refuses to start on a reference it cannot resolve, saying what it expects', () => {
    const started = spawnSync(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', RELAY_DATA_DIR: dataDir, RELAY_MODEL: 'qwen3-8b' },
      encoding: 'utf8',
      timeout: 15_000,
    })
    expect(started.status).toBe(2)
    expect(started.stderr).toContain(
      'RELAY_MODEL="qwen3-8b": expected hf:owner/repo:quant, hf:owner/repo/file.gguf (optionally #revision) or an https:// URL of a .gguf file; a local file goes in RELAY_MODEL_PATH',
    )
  })
})

describe('a relay without node-llama-cpp', () => {
  const platform = `${process.platform}-${process.arch}`

  for (const [missing, blocked, cause] of [
    ['the package', 'node-llama-cpp', "node-llama-cpp could not be loaded (Cannot find package 'node-llama-cpp'"],
    ['its prebuilt binaries', '@node-llama-cpp/', 'none was found'],
  ] as const) {
    it(`without ${missing}: the embedded backend fails with one clear message, the upstream still answers`, async () => {
      const upstream = await startFakeUpstream(0)
      const relay = await startRelayProcess(
        { NODE_OPTIONS: `--import ${blockModules}`, EDGESWARM_BLOCK_MODULES: blocked, RELAY_MODEL_PATH: tinyModelPath, RELAY_UPSTREAM_URL: upstream.url, ...modelEnv },
        (seen) => embeddedState(seen) !== undefined,
      )
      try {
        await until(relay, (seen) => embeddedState(seen)?.state === 'failed')
        const reason = embeddedState(await health(relay))?.reason ?? ''
        expect(reason.startsWith(`the embedded backend needs node-llama-cpp's prebuilt binaries for ${platform}; ${cause}`), reason).toBe(true)
        expect(reason).toContain('the rest of the relay (the app, signaling, upstreams, the swarm) runs without them')
        const errors = logRecords(relay).filter((record) => record.level === 'error')
        expect(errors).toEqual([expect.objectContaining({ msg: 'embedded model failed to load', error: { name: 'EmbeddedUnavailableError', message: reason } })])
        expect((await chat(relay, 'tokens')).status).toBe(200)
      } finally {
        await relay.stop()
        await upstream.close()
      }
    }, 90_000)
  }
})

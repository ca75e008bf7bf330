// The engine contract on RelayEngine against a real relay started in this process, its /v1
// backed by node-llama-cpp running the tiny Qwen3 GGUF (the embedded backend).
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { RelayEngine } from '../../src/inference/relay-engine'
import { ensureFixture } from '../../scripts/gguf/fixture-file'
import { tinyQwen3 } from '../../scripts/gguf/specs'
import { runEngineContractInProcess } from '../contracts/engine-inproc'
import { startRelay, waitForBackendReady, type StartedRelay } from './relay-v1/start'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))
mkdirSync(fixturesDirectory, { recursive: true })
const modelPath = ensureFixture(fixturesDirectory, tinyQwen3).path

async function embeddedRelay(): Promise<StartedRelay> {
  const relay = await startRelay({ RELAY_MODEL_PATH: modelPath, RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', RELAY_MODEL_CONTEXT: '1024' })
  try {
    await waitForBackendReady(relay)
  } catch (error) {
    await relay.close()
    throw error
  }
  return relay
}

runEngineContractInProcess('relay (RelayEngine, an in-process relay embedding the tiny Qwen3 GGUF)', {
  open: async () => {
    const relay = await embeddedRelay()
    return { engine: new RelayEngine({ baseUrl: `${relay.baseUrl}/v1`, token: () => '' }), cleanup: () => relay.close() }
  },
})

describe('RelayEngine beyond the contract', () => {
  it('loads again after unload, and then answers', async () => {
    const relay = await embeddedRelay()
    try {
      const engine = new RelayEngine({ baseUrl: `${relay.baseUrl}/v1`, token: () => '' })
      await engine.load(() => undefined)
      await engine.unload()
      expect(engine.info().availability).toBe('unavailable')
      await engine.load(() => undefined)
      expect(engine.info()).toMatchObject({ availability: 'ready', modelId: 'tiny-qwen3', contextSize: 1024 })
      const chunks = []
      for await (const chunk of engine.chat({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3 })) chunks.push(chunk)
      expect(chunks.at(-1)?.choices[0].finish_reason).toBe('length')
    } finally {
      await relay.close()
    }
  }, 30_000)
})

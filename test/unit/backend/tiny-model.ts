// The tiny Qwen3 GGUF for the backend suites, generated (never downloaded) into test/fixtures.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ensureFixture } from '../../../scripts/gguf/fixture-file'
import { tinyEmbedding, tinyQwen3, tinyQwen3Thinking } from '../../../scripts/gguf/specs'
import type { Backend } from '../../../src/relay/v1/backend'

const fixturesDirectory = fileURLToPath(new URL('../../fixtures/', import.meta.url))
mkdirSync(fixturesDirectory, { recursive: true })

export const tinyModelPath = ensureFixture(fixturesDirectory, tinyQwen3).path
export const tinyModelId = 'tiny-qwen3'

/** The same model with a chat template that opens `<think>` (reasoning split tests). */
export const thinkingModelPath = ensureFixture(fixturesDirectory, tinyQwen3Thinking).path
export const thinkingModelId = 'tiny-qwen3-thinking'

/** Waits for `backend` to say ready; a backend that failed to load fails the setup with its reason. */
export async function untilReady(backend: Backend, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const state = backend.state()
    if (state.state === 'ready') return
    if (state.state === 'failed') throw new Error(`the ${backend.name} backend failed: ${state.reason}`)
    if (Date.now() > deadline) throw new Error(`the ${backend.name} backend was not ready within ${timeoutMs} ms: ${JSON.stringify(state)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export const tinyEmbeddingModelPath = ensureFixture(fixturesDirectory, tinyEmbedding).path
export const tinyEmbeddingModelId = 'tiny-embedding'

// The backend contract on the upstream backend, pointed at a real OpenAI-compatible server: a
// second relay, in this process, whose /v1 runs the tiny Qwen3 GGUF (the embedded backend).
// Twice: as RELAY_UPSTREAM_URL configures it (one upstream, its models from its list), and as
// two upstreams of which the first is down, so every case goes through failover to the second.
import { createLogger } from '../../src/relay/log'
import type { UpstreamTarget } from '../../src/relay/v1/upstream-config'
import { createUpstreamsBackend } from '../../src/relay/v1/upstreams'
import { runBackendContract } from '../contracts/backend'
import { runEmbeddingContract } from '../contracts/backend-embed'
import { tinyEmbeddingModelId, tinyEmbeddingModelPath, tinyModelId, tinyModelPath } from './backend/tiny-model'
import { closedPort, startRelay, waitForBackendReady } from './relay-v1/start'

const token = 'upstream-contract-token'
const breaker = { failureThreshold: 3, cooldownMs: 30_000, maxCooldownMs: 240_000 }

async function embeddingRelay(env: Record<string, string> = { RELAY_MODEL_PATH: tinyModelPath, RELAY_MODEL_CONTEXT: '1024' }): Promise<Awaited<ReturnType<typeof startRelay>>> {
  const server = await startRelay({ RELAY_TOKENS: token, RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', ...env })
  try {
    await waitForBackendReady(server, 30_000, token)
  } catch (error) {
    await server.close()
    throw error
  }
  return server
}

runBackendContract('upstream (a relay embedding the tiny Qwen3 GGUF, over HTTP)', {
  open: async () => {
    const server = await embeddingRelay()
    const targets: UpstreamTarget[] = [{ url: `${server.baseUrl}/v1`, key: token, models: null }]
    const backend = createUpstreamsBackend({ targets, timeoutMs: 20_000, retries: 1, breaker }, createLogger('silent'))
    return { backend, model: tinyModelId, cleanup: () => server.close() }
  },
})

runBackendContract('upstreams (the first down, the second a relay embedding the tiny Qwen3 GGUF)', {
  open: async () => {
    const server = await embeddingRelay()
    const down = `http://127.0.0.1:${await closedPort()}/v1`
    const targets: UpstreamTarget[] = [
      { url: down, key: null, models: [tinyModelId] },
      { url: `${server.baseUrl}/v1`, key: token, models: [tinyModelId] },
    ]
    // A threshold past the suite's requests keeps the breaker closed: each one fails over.
    const backend = createUpstreamsBackend({ targets, timeoutMs: 20_000, retries: 0, breaker: { ...breaker, failureThreshold: 1000 } }, createLogger('silent'))
    return { backend, model: tinyModelId, cleanup: () => server.close() }
  },
})

runEmbeddingContract('upstreams (the first down, the second a relay running the tiny bert GGUF as its embedding model)', {
  open: async () => {
    const server = await embeddingRelay({ RELAY_EMBEDDING_MODEL_PATH: tinyEmbeddingModelPath })
    const down = `http://127.0.0.1:${await closedPort()}/v1`
    const targets: UpstreamTarget[] = [
      { url: down, key: null, models: [tinyEmbeddingModelId] },
      { url: `${server.baseUrl}/v1`, key: token, models: [tinyEmbeddingModelId] },
    ]
    const backend = createUpstreamsBackend({ targets, timeoutMs: 20_000, retries: 0, breaker: { ...breaker, failureThreshold: 1000 } }, createLogger('silent'))
    return { backend, model: tinyEmbeddingModelId, cleanup: () => server.close() }
  },
})

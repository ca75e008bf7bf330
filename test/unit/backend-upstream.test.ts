// The backend contract on the upstream backend, pointed at a real OpenAI-compatible server: a
// second relay, in this process, whose /v1 runs the tiny Qwen3 GGUF (the embedded backend).
import { createLogger } from '../../src/relay/log'
import { createUpstreamBackend } from '../../src/relay/v1/upstream'
import { runBackendContract } from '../contracts/backend'
import { tinyModelId, tinyModelPath } from './backend/tiny-model'
import { startRelay, waitForBackendReady } from './relay-v1/start'

const token = 'upstream-contract-token'

runBackendContract('upstream (a relay embedding the tiny Qwen3 GGUF, over HTTP)', {
  open: async () => {
    const server = await startRelay({ RELAY_TOKENS: token, RELAY_MODEL_PATH: tinyModelPath, RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', RELAY_MODEL_CONTEXT: '1024' })
    try {
      await waitForBackendReady(server, 30_000, token)
    } catch (error) {
      await server.close()
      throw error
    }
    const backend = createUpstreamBackend({ url: `${server.baseUrl}/v1`, key: token, timeoutMs: 20_000, retries: 1 }, createLogger('silent'))
    return { backend, model: tinyModelId, cleanup: () => server.close() }
  },
})

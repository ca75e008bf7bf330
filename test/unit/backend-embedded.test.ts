// The backend contract on the embedded backend: node-llama-cpp running the tiny Qwen3 GGUF here.
import { createLogger } from '../../src/relay/log'
import { createEmbeddedBackend } from '../../src/relay/v1/embedded'
import { runBackendContract } from '../contracts/backend'
import { tinyModelId, tinyModelPath, untilReady } from './backend/tiny-model'

runBackendContract('embedded (node-llama-cpp, tiny Qwen3 GGUF)', {
  open: async () => {
    const backend = createEmbeddedBackend({ modelPath: tinyModelPath, concurrency: 1, threads: 1, contextSize: 1024, maxQueue: 4, gpu: false }, createLogger('silent'))
    await untilReady(backend)
    return { backend, model: tinyModelId }
  },
})

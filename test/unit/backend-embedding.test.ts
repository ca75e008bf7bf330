// The embedding contract on the relay's own embedding model: node-llama-cpp running the tiny
// bert GGUF here (RELAY_EMBEDDING_MODEL_PATH's backend).
import { createLogger } from '../../src/relay/log'
import { createEmbeddingBackend } from '../../src/relay/v1/embedded-embedding'
import { runEmbeddingContract } from '../contracts/backend-embed'
import { tinyEmbeddingModelId, tinyEmbeddingModelPath, untilReady } from './backend/tiny-model'

runEmbeddingContract('embedded (node-llama-cpp, tiny bert GGUF)', {
  open: async () => {
    const backend = createEmbeddingBackend({ modelPath: tinyEmbeddingModelPath, threads: 1, contextSize: 512, gpu: false }, createLogger('silent'))
    await untilReady(backend)
    return { backend, model: tinyEmbeddingModelId }
  },
})

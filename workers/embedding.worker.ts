// Hosts the sentence-embedding model (wllama) for memory search; src/inference/embedding speaks to it.
import { serveEmbedder } from '../src/inference/embedding/rpc'
import { WllamaEmbedder } from '../src/inference/embedding/wllama-embedder'

serveEmbedder(globalThis, (options) => new WllamaEmbedder(options))

// Hosts the WASM engine (wllama) off the page's thread. The page sends the model to load once,
// then speaks the engine protocol of src/inference/rpc.ts.
import { Wllama } from '@wllama/wllama/esm/index.js'
import { hostEngineInWorker } from '../src/inference/worker-host'
import { WllamaEngine } from '../src/inference/wasm/wllama-engine'

hostEngineInWorker((options) => new WllamaEngine(options, Wllama))

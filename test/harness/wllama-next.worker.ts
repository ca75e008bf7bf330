// The WASM engine on the newer wllama (the `wllama-next` alias), for the engine bench and the
// engine contract: the same WllamaEngine as the app's worker, another build of llama.cpp.
import { Wllama } from 'wllama-next/esm/index.js'
import { hostEngineInWorker } from '../../src/inference/worker-host'
import { WllamaEngine, type WllamaClass } from '../../src/inference/wasm/wllama-engine'

// Its declarations are another copy of the same class (private members make TypeScript classes
// nominal); the parts WllamaEngine calls have the same shape in both versions.
hostEngineInWorker((options) => new WllamaEngine(options, Wllama as unknown as WllamaClass))

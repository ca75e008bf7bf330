// Hosts onnxruntime-web (WASM, SIMD) for the micro-nets; the pool in src/micronets/runtime speaks to it.
import { serveMicronets } from '../src/micronets/runtime/worker-host'

serveMicronets(globalThis)

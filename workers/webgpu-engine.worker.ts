// Hosts WebLLM's MLCEngine off the main thread; WebWorkerMLCEngine in src/inference/webgpu talks to it.
import { WebWorkerMLCEngineHandler } from '@mlc-ai/web-llm'
import { watchDevices } from '../src/inference/webgpu/device-watch'

// Before WebLLM asks for its device: a loss is then told to the page (device-watch.ts).
const watcher = watchDevices()
const handler = new WebWorkerMLCEngineHandler()
self.onmessage = (event: MessageEvent) => {
  if (watcher(event.data)) return
  try {
    handler.onmessage(event)
  } catch (error) {
    // WebLLM throws on a message kind it does not know; one stray message must not kill the engine.
    console.error('webgpu-engine worker: dropped a message', error)
  }
}

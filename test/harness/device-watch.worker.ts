// A worker with the device watcher of WebLLM's worker (src/inference/webgpu/device-watch.ts) and
// a real GPUDevice from this browser's adapter (SwiftShader in the tests), asked for on request
// as WebLLM asks for its own: the watcher and its page side run as in the app, the GPU too.
import { watchDevices } from '../../src/inference/webgpu/device-watch'

const watcher = watchDevices()
const scope = globalThis as unknown as { postMessage(message: unknown): void; onmessage: ((event: MessageEvent<unknown>) => void) | null }
scope.onmessage = (event) => {
  if (watcher(event.data)) return
  if (typeof event.data === 'object' && event.data !== null && 'kind' in event.data && event.data.kind === 'request-device') {
    void navigator.gpu
      .requestAdapter()
      .then((adapter) => adapter?.requestDevice())
      .then(
        (device) => scope.postMessage({ kind: 'device', ok: device !== undefined }),
        (error: unknown) => scope.postMessage({ kind: 'device', ok: false, error: String(error) }),
      )
  }
}

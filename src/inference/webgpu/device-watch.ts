// A WebGPU device lost under a loaded model (a driver reset, the GPU process gone, memory taken
// back) makes WebLLM unload itself inside its worker without a word to the page: the next
// question would fail. So the engine's worker watches every device it asks for and tells the
// page of a loss it did not cause, on a port of their own (WebLLM's page side throws on a
// message kind it does not know), and the page reloads the engine (local-engine.ts).
import * as v from 'valibot'

/** Page → worker: the port that losses are reported on. */
export const watchKind = 'edgeswarm:device-watch'
/** Page → worker: destroy every device now, as a lost GPU would (the tests' way to lose one). */
export const loseKind = 'edgeswarm:lose-device'

/** What the worker says of a lost device: GPUDeviceLostInfo's reason and message. */
export interface DeviceLoss {
  reason: string
  message: string
}

const DeviceLossSchema = v.object({ reason: v.pipe(v.string(), v.maxLength(64)), message: v.pipe(v.string(), v.maxLength(2000)) })

/** WebLLM's own requests that end its device on purpose (worker protocol kinds). */
const endsDevice = new Set(['unload', 'reload'])

function kindOf(data: unknown): unknown {
  return typeof data === 'object' && data !== null && 'kind' in data ? data.kind : undefined
}

/**
 * Worker side: every `requestDevice` in this worker is watched from now on. Returns the filter
 * for the page's messages: true when a message was the watcher's (not to be passed to WebLLM).
 * Only the page that made the worker can post to it, so the lose hook is no one else's to pull.
 */
export function watchDevices(): (data: unknown) => boolean {
  let port: MessagePort | null = null
  const live = new Set<GPUDevice>()
  const expected = new WeakSet<GPUDevice>()
  if (typeof GPUAdapter !== 'undefined') {
    const prototype = GPUAdapter.prototype
    const requestDevice = Reflect.get<GPUAdapter, 'requestDevice'>(prototype, 'requestDevice')
    prototype.requestDevice = async function (this: GPUAdapter, descriptor?: GPUDeviceDescriptor): Promise<GPUDevice> {
      const device = await requestDevice.call(this, descriptor)
      live.add(device)
      void device.lost.then((info) => {
        live.delete(device)
        if (expected.has(device)) return
        const loss: DeviceLoss = { reason: info.reason.slice(0, 64), message: info.message.slice(0, 2000) }
        port?.postMessage(loss)
      })
      return device
    }
  }
  return (data) => {
    const kind = kindOf(data)
    if (kind === watchKind) {
      const offered = (data as { port?: unknown }).port
      if (offered instanceof MessagePort) port = offered
      return true
    }
    if (kind === loseKind) {
      for (const device of live) device.destroy()
      return true
    }
    if (typeof kind === 'string' && endsDevice.has(kind)) for (const device of live) expected.add(device)
    return false
  }
}

/** Page side: `onLost` hears each loss the worker reports; the returned function stops listening. */
export function watchDeviceLoss(worker: Pick<Worker, 'postMessage'>, onLost: (loss: DeviceLoss) => void): () => void {
  const channel = new MessageChannel()
  channel.port1.onmessage = (event: MessageEvent<unknown>) => {
    const parsed = v.safeParse(DeviceLossSchema, event.data)
    if (parsed.success) onLost(parsed.output)
  }
  worker.postMessage({ kind: watchKind, port: channel.port2 }, [channel.port2])
  return () => channel.port1.close()
}

/** Page side: asks the worker to destroy its devices, as a lost GPU would. */
export function loseDevices(worker: Pick<Worker, 'postMessage'>): void {
  worker.postMessage({ kind: loseKind })
}

// The engine contract on the WebGPU engine (WebLlmEngine) with WebLLM's pipeline replaced by a
// deterministic double (test/contracts/webllm-double.ts): our engine, its chat stream, abort and
// unload run for real; only the third-party module is stood in for. The seams are WebLlmEngine's
// own options: `createWorker` (Node has no Worker: a stand-in EventTarget) and `probe` (no GPU).
import { describe, expect, it, vi } from 'vitest'
import { describeAdapter } from '../../src/inference/webgpu/model-choice'
import { WebLlmEngine } from '../../src/inference/webgpu/webllm-engine'
import { loseKind, watchKind, type DeviceLoss } from '../../src/inference/webgpu/device-watch'
import { runEngineContractInProcess } from '../contracts/engine-inproc'
import { createdEngines } from '../contracts/webllm-double'

vi.mock('@mlc-ai/web-llm', async () => (await import('../contracts/webllm-double')).webLlmModuleDouble)

/** What WebLlmEngine does with its worker when WebLLM itself is a double: listens, then terminates. */
class WorkerStandIn extends EventTarget {
  terminated = false
  /** What the page posted to it (the device watcher's port among them). */
  readonly posted: unknown[] = []
  postMessage(message: unknown): void {
    this.posted.push(message)
  }
  terminate(): void {
    this.terminated = true
  }
}

const mib = 1 << 20
/** An adapter with what WebLLM asks for Qwen3-1.7B q4f16 (shader-f16, 1 GiB buffers). */
const adapterDouble = {
  features: new Set(['shader-f16']),
  limits: { maxBufferSize: 1024 * mib, maxStorageBufferBindingSize: 1024 * mib, maxComputeWorkgroupStorageSize: 32 * 1024, maxStorageBuffersPerShaderStage: 10 },
  info: { vendor: 'double', architecture: 'double', description: 'a test double', isFallbackAdapter: false },
}

function createEngine(workers: WorkerStandIn[] = [], errors: unknown[] = [], onDeviceLost?: (loss: DeviceLoss) => void): WebLlmEngine {
  return new WebLlmEngine({
    ...(onDeviceLost ? { onDeviceLost } : {}),
    createWorker: () => {
      const worker = new WorkerStandIn()
      workers.push(worker)
      // The engine only listens to its worker and terminates it; the double never posts to it.
      return worker as unknown as Worker
    },
    probe: () => Promise.resolve({ ok: true, adapter: describeAdapter(adapterDouble as unknown as GPUAdapter) }),
    deviceMemoryGb: 8,
    onError: (error) => errors.push(error),
  })
}

runEngineContractInProcess('webgpu (WebLlmEngine, WebLLM replaced by a deterministic double)', {
  open: () => {
    const errors: unknown[] = []
    return Promise.resolve({
      engine: createEngine([], errors),
      // Failures off the caller's path (a throwing progress callback, a failed unload) count too.
      cleanup: () => (errors.length === 0 ? Promise.resolve() : Promise.reject(new AggregateError(errors, 'WebLlmEngine reported errors off the caller path'))),
    })
  },
})

describe('WebLlmEngine with the WebLLM double, beyond the contract', () => {
  it('unloads WebLLM and ends its worker', async () => {
    const workers: WorkerStandIn[] = []
    const errors: unknown[] = []
    const engine = createEngine(workers, errors)
    await engine.load(() => undefined)
    // 8 GB reported: half of it holds the model and a 16K window's KV cache (32K would not fit).
    expect(engine.info()).toMatchObject({ availability: 'ready', modelId: 'Qwen3-1.7B-q4f16_1-MLC', contextSize: 16_384 })
    await engine.unload()
    expect(createdEngines.at(-1)?.unloaded).toBe(true)
    expect(workers.map((worker) => worker.terminated)).toEqual([true])
    expect(engine.info().availability).toBe('unavailable')
    expect(errors).toEqual([])
  })

  it('a lost device unloads the engine, says so, and a new load starts a new worker', async () => {
    const workers: WorkerStandIn[] = []
    const errors: unknown[] = []
    const losses: DeviceLoss[] = []
    const engine = createEngine(workers, errors, (loss) => losses.push(loss))
    await engine.load(() => undefined)
    const watch = workers[0]?.posted.find(
      (message): message is { kind: string; port: MessagePort } => typeof message === 'object' && message !== null && 'kind' in message && message.kind === watchKind,
    )
    expect(watch?.port).toBeInstanceOf(MessagePort)
    // The page's test hook asks the worker to destroy its devices.
    engine.loseDevice()
    expect(workers[0]?.posted.at(-1)).toEqual({ kind: loseKind })
    // The worker's watcher reports the loss on the port (device-watch.ts): what a real GPU loss sends.
    const lost = new Promise<void>((resolve) => {
      const poll = setInterval(() => losses.length > 0 && (clearInterval(poll), resolve()), 5)
    })
    watch?.port.postMessage({ reason: 'unknown', message: 'the GPU process exited' })
    await lost
    expect(losses).toEqual([{ reason: 'unknown', message: 'the GPU process exited' }])
    expect(engine.info().availability).toBe('unavailable')
    expect(workers[0]?.terminated).toBe(true)
    const stream = await (async () => {
      try {
        for await (const _chunk of engine.chat({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })) return 'answered'
        return 'empty'
      } catch (error) {
        return error instanceof Error ? error.name : String(error)
      }
    })()
    expect(stream).toBe('EngineUnavailableError')
    // A hostile or garbled report is dropped: only { reason, message } strings count.
    watch?.port.postMessage({ reason: 42 })
    await engine.load(() => undefined)
    expect(workers).toHaveLength(2)
    expect(engine.info().availability).toBe('ready')
    await engine.unload()
    watch?.port.close()
    expect(losses).toHaveLength(1)
    expect(errors).toEqual([])
  })
})

import type { ChatCompletionChunk, ChatCompletionRequestStreaming, CompletionUsage, ModelRecord } from '@mlc-ai/web-llm'
import { describe, expect, it } from 'vitest'
import { InferenceError, ModelLoadError } from '../../src/shared/errors'
import type { ChatChunk } from '../../src/inference/types'
import { streamChat, type ChatBackend } from '../../src/inference/webgpu/chat-stream'
import { toModelLoadError } from '../../src/inference/webgpu/load-error'
import { chooseModel, type AdapterDescription } from '../../src/inference/webgpu/model-choice'
import { needsFromRecord, qwen3F16, usesF16 } from '../../src/inference/webgpu/models'
import { toLoadProgress } from '../../src/inference/webgpu/progress'
import type { OnFailure } from '../../src/inference/webgpu/settle'

const mib = 1 << 20

function adapter(overrides: Omit<Partial<AdapterDescription>, 'limits'> & { limits?: Partial<AdapterDescription['limits']> } = {}): AdapterDescription {
  return {
    features: ['shader-f16'],
    vendor: 'nvidia',
    architecture: 'ampere',
    isFallbackAdapter: false,
    ...overrides,
    limits: {
      maxBufferSize: 2048 * mib,
      maxStorageBufferBindingSize: 2048 * mib,
      maxComputeWorkgroupStorageSize: 32 * 1024,
      maxStorageBuffersPerShaderStage: 10,
      ...overrides.limits,
    },
  }
}

describe('WebGPU model choice', () => {
  it('picks the q4f16 build when the adapter has shader-f16', () => {
    expect(chooseModel(adapter())).toMatchObject({ ok: true, modelId: 'Qwen3-1.7B-q4f16_1-MLC', vramRequiredMb: 2037, contextWindowSize: 4096 })
  })

  it('picks the q4f32 build without shader-f16, and says why', () => {
    const choice = chooseModel(adapter({ features: [] }))
    expect(choice).toMatchObject({ ok: true, modelId: 'Qwen3-1.7B-q4f32_1-MLC', vramRequiredMb: 2636 })
    expect(choice.reason).toContain('lacks shader-f16')
  })

  it('refuses an adapter with too little buffer size, in numbers', () => {
    expect(chooseModel(adapter({ limits: { maxBufferSize: 128 * mib } }))).toEqual({
      ok: false,
      reason: 'WebGPU adapter has too little buffer size for Qwen3-1.7B (needs 256 MB, has 128 MB)',
    })
  })

  it("accepts WebLLM's low-resource 128 MiB storage binding (Qwen3 is low_resource_required), not less", () => {
    expect(chooseModel(adapter({ limits: { maxStorageBufferBindingSize: 128 * mib } })).ok).toBe(true)
    const choice = chooseModel(adapter({ limits: { maxStorageBufferBindingSize: 64 * mib } }))
    expect(choice).toEqual({ ok: false, reason: expect.stringContaining('storage buffer binding size for Qwen3-1.7B (needs 128 MB, has 64 MB)') as string })
  })

  it('refuses limits below what WebLLM requests of the device', () => {
    expect(chooseModel(adapter({ limits: { maxComputeWorkgroupStorageSize: 16 * 1024 } })).reason).toContain('workgroup memory')
    expect(chooseModel(adapter({ limits: { maxStorageBuffersPerShaderStage: 8 } })).reason).toContain('(needs 10, has 8)')
  })

  it('checks the model against device memory when known', () => {
    expect(chooseModel(adapter(), { deviceMemoryGb: 2 })).toEqual({
      ok: false,
      reason: 'This device has too little memory for Qwen3-1.7B (needs 2037 MB, has about 1536 MB of 2 GB free for it)',
    })
    expect(chooseModel(adapter(), { deviceMemoryGb: 4 }).ok).toBe(true)
    expect(chooseModel(adapter({ features: [] }), { deviceMemoryGb: 4 }).ok).toBe(true)
    expect(chooseModel(adapter({ features: [] }), { deviceMemoryGb: 2 }).reason).toContain('needs 2636 MB')
    expect(chooseModel(adapter(), {}).ok).toBe(true)
  })

  it('refuses a software (fallback) adapter', () => {
    const fallback = chooseModel(adapter({ isFallbackAdapter: true, vendor: 'google', architecture: '' }))
    expect(fallback).toMatchObject({ ok: false, reason: expect.stringContaining('software adapter') as string })
    const swiftshader = chooseModel(adapter({ vendor: 'google', architecture: 'swiftshader' }))
    expect(swiftshader).toMatchObject({ ok: false, reason: expect.stringContaining('(google swiftshader)') as string })
  })

  it('checks an override model, requiring shader-f16 for f16 builds', () => {
    expect(chooseModel(adapter({ features: [] }), { model: qwen3F16 })).toEqual({
      ok: false,
      reason: 'WebGPU adapter lacks the feature shader-f16 that Qwen3-1.7B-q4f16_1-MLC needs',
    })
    const record: ModelRecord = { model: 'https://h/m', model_id: 'Qwen3-0.6B-q0f16-MLC', model_lib: 'https://h/m.wasm', vram_required_MB: 1500, overrides: { context_window_size: 4096 } }
    const needs = needsFromRecord(record)
    expect(needs).toMatchObject({ requiredFeatures: ['shader-f16'], lowResourceRequired: false, contextWindowSize: 4096 })
    expect(chooseModel(adapter({ limits: { maxStorageBufferBindingSize: 512 * mib } }), { model: needs }).reason).toContain('needs 1024 MB')
    expect(usesF16('Qwen3-1.7B-q4f32_1-MLC')).toBe(false)
  })
})

describe('WebLLM load progress and errors', () => {
  it('maps fetching to download and cache loading to load, with bytes from the text', () => {
    const start = toLoadProgress({ progress: 0, timeElapsed: 0, text: 'Start to fetch params' })
    expect(start).toMatchObject({ phase: 'download', loadedBytes: 0, totalBytes: 0 })
    const fetching = toLoadProgress({ progress: 0.25, timeElapsed: 3, text: 'Fetching param cache[5/20]: 250MB fetched. 25% completed, 3 secs elapsed.' }, start)
    expect(fetching).toMatchObject({ phase: 'download', loadedBytes: 250 * mib, totalBytes: 1000 * mib })
    const loading = toLoadProgress({ progress: 0.5, timeElapsed: 9, text: 'Loading model from cache[10/20]: 500MB loaded. 50% completed, 9 secs elapsed.' }, fetching)
    expect(loading).toMatchObject({ phase: 'load', loadedBytes: 500 * mib, totalBytes: 1000 * mib })
    const shaders = toLoadProgress({ progress: 0.5, timeElapsed: 10, text: 'Loading GPU shader modules[40/80]: 50% completed, 10 secs elapsed.' }, loading)
    expect(shaders).toMatchObject({ phase: 'load', loadedBytes: 500 * mib, totalBytes: 1000 * mib })
    const done = toLoadProgress({ progress: 1, timeElapsed: 11, text: 'Finish loading on WebGPU - nvidia' }, shaders)
    expect(done).toMatchObject({ phase: 'load', loadedBytes: 1000 * mib, totalBytes: 1000 * mib })
  })

  it("says what to do on a quota error, and keeps WebLLM's message otherwise", () => {
    const quota = 'storage quota exceeded: free space or delete other models'
    expect(toModelLoadError('QuotaExceededError: The quota has been exceeded.').message).toBe(quota)
    expect(toModelLoadError(new DOMException('The quota has been exceeded.', 'QuotaExceededError')).message).toBe(quota)
    const network = toModelLoadError('TypeError: Failed to fetch')
    expect(network).toBeInstanceOf(ModelLoadError)
    expect(network.message).toMatch(/^model download failed: TypeError: Failed to fetch/)
    expect(toModelLoadError(new Error('Device was lost')).message).toBe('model failed to load: Device was lost')
  })
})

/** Behaves like WebLLM's engine: pull-based, one token per read, a lock held until the stream ends,
 * and an interrupt flag that the generation resets when it starts. */
function fakeWebLlm(tokens: readonly string[]) {
  let interrupted = false
  // A function, so the checks below read the flag that interruptGenerate sets meanwhile.
  const isInterrupted = (): boolean => interrupted
  let locked = false
  const requests: ChatCompletionRequestStreaming[] = []
  const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1))
  const chunk = (delta: { content?: string }, finish: 'stop' | 'length' | 'abort' | null, usage: CompletionUsage | null = null): ChatCompletionChunk =>
    ({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'm', choices: finish === null && !delta.content ? [] : [{ index: 0, delta, finish_reason: finish }], usage }) as ChatCompletionChunk
  async function* generate(maxTokens: number): AsyncGenerator<ChatCompletionChunk> {
    while (locked) await tick()
    locked = true
    interrupted = false
    try {
      let produced = 0
      while (produced < Math.min(tokens.length, maxTokens) && !isInterrupted()) {
        await tick()
        yield chunk({ content: tokens[produced] ?? '' }, null)
        produced += 1
      }
      yield chunk({}, isInterrupted() ? 'abort' : produced === maxTokens ? 'length' : 'stop')
      const extra = { e2e_latency_s: 1, prefill_tokens_per_s: 120, decode_tokens_per_s: 30, time_to_first_token_s: 0.1, time_per_output_token_s: 0.03 }
      yield chunk({}, null, { prompt_tokens: 4, completion_tokens: produced, total_tokens: 4 + produced, extra })
    } finally {
      locked = false
    }
  }
  const backend: ChatBackend = {
    chat: { completions: { create: (request) => (requests.push(request), Promise.resolve(generate(request.max_tokens ?? Infinity))) } },
    interruptGenerate: () => {
      interrupted = true
    },
  }
  return { backend, requests }
}

const noFailure: OnFailure = () => () => {}
const request = { messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 8, enable_thinking: false }

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const out: ChatChunk[] = []
  for await (const chunk of stream) out.push(chunk)
  return out
}

describe('WebLLM chat stream', () => {
  it('streams content, then one final chunk with finish_reason and usage; keeps the speeds', async () => {
    const { backend, requests } = fakeWebLlm(['<think>', '</think>', 'Hello'])
    const speeds: number[][] = []
    const chunks = await collect(streamChat({ backend, modelId: 'q', request, onFailure: noFailure, onSpeed: (p, d) => speeds.push([p, d]) }))
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('<think></think>Hello')
    expect(chunks[0]?.choices[0].delta.role).toBe('assistant')
    expect(chunks.at(-1)).toMatchObject({ choices: [{ finish_reason: 'stop' }], usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 } })
    expect(speeds).toEqual([[120, 30]])
    expect(requests[0]).toMatchObject({ stream: true, stream_options: { include_usage: true }, max_tokens: 8, extra_body: { enable_thinking: false } })
    expect(requests[0]).not.toHaveProperty('tools')
  })

  it('ends with finish_reason abort on abort, and the next request still runs', async () => {
    const { backend } = fakeWebLlm(Array.from({ length: 1000 }, () => 'x'))
    const controller = new AbortController()
    const seen: ChatChunk[] = []
    for await (const chunk of streamChat({ backend, modelId: 'q', request, signal: controller.signal, onFailure: noFailure, onSpeed: () => {} })) {
      seen.push(chunk)
      if (seen.length === 2) controller.abort()
    }
    expect(seen.length).toBeLessThan(10)
    expect(seen.at(-1)).toMatchObject({ choices: [{ finish_reason: 'abort' }], usage: { prompt_tokens: 4 } })
    const next = await collect(streamChat({ backend, modelId: 'q', request: { ...request, max_tokens: 1 }, onFailure: noFailure, onSpeed: () => {} }))
    expect(next.map((c) => c.choices[0].finish_reason)).toEqual([null, 'length'])
  })

  it('an already aborted signal gives one abort chunk and asks nothing of WebLLM', async () => {
    const { backend, requests } = fakeWebLlm(['a'])
    const chunks = await collect(streamChat({ backend, modelId: 'q', request, signal: AbortSignal.abort(), onFailure: noFailure, onSpeed: () => {} }))
    expect(chunks).toHaveLength(1)
    expect(chunks[0]?.choices[0].finish_reason).toBe('abort')
    expect(requests).toEqual([])
  })

  it('a consumer that stops reading releases the model for the next request', async () => {
    const { backend } = fakeWebLlm(Array.from({ length: 1000 }, () => 'x'))
    for await (const _chunk of streamChat({ backend, modelId: 'q', request, onFailure: noFailure, onSpeed: () => {} })) break
    const again = await collect(streamChat({ backend, modelId: 'q', request, onFailure: noFailure, onSpeed: () => {} }))
    expect(again.at(-1)).toMatchObject({ choices: [{ finish_reason: 'length' }], usage: { completion_tokens: 8 } })
  })

  it('a dead worker fails the stream with InferenceError instead of hanging', async () => {
    const { backend } = fakeWebLlm(Array.from({ length: 1000 }, () => 'x'))
    let fail = (_error: Error): void => {}
    const onFailure: OnFailure = (listener) => ((fail = listener), () => {})
    const reading = collect(streamChat({ backend, modelId: 'q', request, onFailure, onSpeed: () => {} }))
    setTimeout(() => fail(new Error('the WebGPU engine worker failed: boom')), 5)
    await expect(reading).rejects.toThrow(InferenceError)
  })
})

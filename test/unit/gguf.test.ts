import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { encodeFixture, ensureFixture } from '../../scripts/gguf/fixture-file'
import { bool, f32, f32s, i32s, str, strings, u32, type GgufValue } from '../../scripts/gguf/format'
import { readF32Tensor, readGguf } from '../../scripts/gguf/reader'
import { tinyQwen3 } from '../../scripts/gguf/specs'
import { byteToSymbol, tokenTypes } from '../../scripts/gguf/vocab'
import { encodeGguf } from '../../scripts/gguf/writer'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))

function concat(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks))
}

function valueOf(metadata: Map<string, GgufValue>, key: string): unknown {
  return metadata.get(key)?.value
}

describe('GGUF writer and reader', () => {
  it('round-trips every kind of metadata value and aligns tensor data to 32 bytes', () => {
    const metadata = new Map<string, GgufValue>([
      ['a.u32', u32(7)],
      ['a.f32', f32(0.5)],
      ['a.bool', bool(true)],
      ['a.str', str('héllo')],
      ['a.u64', { kind: 'u64', value: 1n << 40n }],
      ['a.i8', { kind: 'i8', value: -3 }],
      ['a.strings', strings(['x', 'Ġy', ''])],
      ['a.ints', i32s([-1, 0, 2])],
      ['a.floats', f32s([1.5, -2])],
    ])
    const tensors = [
      { name: 'odd', shape: [3], data: new Float32Array([1, 2, 3]) },
      { name: 'matrix', shape: [2, 2], data: new Float32Array([4, 5, 6, 7]) },
    ]
    const bytes = concat(encodeGguf({ metadata, tensors }))
    const parsed = readGguf(bytes)
    expect(parsed.version).toBe(3)
    expect(parsed.metadata).toEqual(metadata)
    expect(parsed.tensors.map(({ name, shape, offset }) => ({ name, shape, offset }))).toEqual([
      { name: 'odd', shape: [3], offset: 0 },
      { name: 'matrix', shape: [2, 2], offset: 32 },
    ])
    expect(parsed.dataOffset % 32).toBe(0)
    expect([...readF32Tensor(bytes, parsed, 'matrix')]).toEqual([4, 5, 6, 7])
    expect(bytes.length).toBe(parsed.dataOffset + 32 + 32)
  })

  it('rejects a file that is not GGUF', () => {
    expect(() => readGguf(new Uint8Array(16))).toThrow(/not a GGUF file/)
  })
})

describe('tiny qwen3 fixture', () => {
  const first = encodeFixture(tinyQwen3)
  const bytes = concat(first.chunks)
  const parsed = readGguf(bytes)
  const tokens = valueOf(parsed.metadata, 'tokenizer.ggml.tokens') as string[]

  it('is byte-identical when generated twice from the same seed', () => {
    const second = concat(encodeFixture(tinyQwen3).chunks)
    expect(createHash('sha256').update(second).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(Buffer.compare(second, bytes)).toBe(0)
  })

  it('carries the qwen3 hyperparameters llama.cpp reads, with their GGUF types', () => {
    const expected: [string, GgufValue][] = [
      ['general.architecture', str('qwen3')],
      ['qwen3.context_length', u32(2048)],
      ['qwen3.embedding_length', u32(64)],
      ['qwen3.block_count', u32(2)],
      ['qwen3.feed_forward_length', u32(128)],
      ['qwen3.attention.head_count', u32(4)],
      ['qwen3.attention.head_count_kv', u32(2)],
      ['qwen3.attention.key_length', u32(16)],
      ['qwen3.attention.value_length', u32(16)],
      ['tokenizer.ggml.model', str('gpt2')],
      ['tokenizer.ggml.pre', str('qwen2')],
    ]
    for (const [key, value] of expected) expect(parsed.metadata.get(key), key).toEqual(value)
    expect(parsed.metadata.get('qwen3.attention.layer_norm_rms_epsilon')?.kind).toBe('f32')
    expect(parsed.metadata.get('qwen3.rope.freq_base')?.kind).toBe('f32')
    expect(valueOf(parsed.metadata, 'tokenizer.chat_template')).toContain('enable_thinking')
  })

  it('has a byte-level vocabulary of printable ASCII, learnt merges and ChatML control tokens', () => {
    const types = valueOf(parsed.metadata, 'tokenizer.ggml.token_type') as number[]
    const merges = valueOf(parsed.metadata, 'tokenizer.ggml.merges') as string[]
    expect(types).toHaveLength(tokens.length)
    expect(new Set(tokens).size).toBe(tokens.length)
    for (const byte of [0x0a, 0x20, 0x41, 0x7e]) expect(tokens).toContain(byteToSymbol(byte))
    expect(merges.length).toBeGreaterThan(200)
    for (const merge of merges) expect(tokens).toContain(merge.replace(' ', ''))
    expect(tokens).toContain(`${byteToSymbol(0x20)}the`)

    const typeOf = (text: string): number | undefined => types[tokens.indexOf(text)]
    for (const control of ['<|endoftext|>', '<|im_start|>', '<|im_end|>']) expect(typeOf(control), control).toBe(tokenTypes.control)
    for (const think of ['<think>', '</think>']) expect(typeOf(think), think).toBe(tokenTypes.userDefined)
    expect(valueOf(parsed.metadata, 'tokenizer.ggml.eos_token_id')).toBe(tokens.indexOf('<|im_end|>'))
    expect(valueOf(parsed.metadata, 'tokenizer.ggml.bos_token_id')).toBe(tokens.indexOf('<|endoftext|>'))
  })

  it('has the tensors of llama_model_qwen3 in ggml dimension order, norms one, weights small', () => {
    const vocabSize = tokens.length
    const expected: [string, number[]][] = [
      ['token_embd.weight', [64, vocabSize]],
      ['output_norm.weight', [64]],
    ]
    for (const block of [0, 1]) {
      expected.push(
        [`blk.${block}.attn_norm.weight`, [64]],
        [`blk.${block}.attn_q.weight`, [64, 64]],
        [`blk.${block}.attn_k.weight`, [64, 32]],
        [`blk.${block}.attn_v.weight`, [64, 32]],
        [`blk.${block}.attn_output.weight`, [64, 64]],
        [`blk.${block}.attn_q_norm.weight`, [16]],
        [`blk.${block}.attn_k_norm.weight`, [16]],
        [`blk.${block}.ffn_norm.weight`, [64]],
        [`blk.${block}.ffn_gate.weight`, [64, 128]],
        [`blk.${block}.ffn_up.weight`, [64, 128]],
        [`blk.${block}.ffn_down.weight`, [128, 64]],
      )
    }
    expect(parsed.tensors.map(({ name, shape }) => [name, shape])).toEqual(expected)
    expect(parsed.tensors.every(({ type }) => type === 0)).toBe(true)

    expect(readF32Tensor(bytes, parsed, 'blk.1.attn_k_norm.weight').every((value) => value === 1)).toBe(true)
    const weights = readF32Tensor(bytes, parsed, 'blk.0.ffn_down.weight')
    const std = Math.sqrt(weights.reduce((sum, value) => sum + value * value, 0) / weights.length)
    expect(std).toBeGreaterThan(0.018)
    expect(std).toBeLessThan(0.022)
  })
})

// llama.cpp itself, through node-llama-cpp's prebuilt binaries. Where they do not load the case
// fails: a skipped case would pass without checking anything.
describe('tiny qwen3 in llama.cpp', () => {
  it('loads, applies a chat prompt and generates 16 tokens', async () => {
    mkdirSync(fixturesDirectory, { recursive: true })
    const { path } = ensureFixture(fixturesDirectory, tinyQwen3)
    const { getLlama, LlamaChatSession, LlamaLogLevel } = await import('node-llama-cpp')
    const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error }).catch((error: unknown) => {
      throw new Error(`node-llama-cpp cannot load its prebuilt llama.cpp binary on this machine, so the case cannot run: ${String(error)}`)
    })
    try {
      const model = await llama.loadModel({ modelPath: path })
      // One thread: the model is tiny, and spinning threads crawl when other test files load the cores.
      const llamaContext = await model.createContext({ contextSize: 512, threads: 1 })
      const session = new LlamaChatSession({ contextSequence: llamaContext.getSequence() })
      const generated: number[] = []
      await session.prompt('Say hello to the world.', {
        maxTokens: 16,
        temperature: 0,
        onToken: (tokens) => generated.push(...tokens),
      })
      expect(generated.length).toBeGreaterThan(0)
    } finally {
      await llama.dispose()
    }
  }, 60_000)
})

// The JS tokenizer built from a GGUF header against llama.cpp's own (node-llama-cpp), on the
// tiny Qwen3 fixture: the same count on English, code, numbers, whitespace, non-ASCII text and
// chat frames with special tokens.
import { mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureFixture } from '../../scripts/gguf/fixture-file'
import { tinyQwen3 } from '../../scripts/gguf/specs'
import { BpeTokenizer } from '../../src/inference/tokenizer/bpe'
import { headerOf, readGgufHeader } from '../../src/inference/tokenizer/gguf-header'
import { messageFrameText } from '../../src/inference/tokens'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))

const samples = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog. What is the capital of France?',
  "I'm sure they'll say we've done it, didn't we? You'RE right.",
  'function add(a, b) {\n  return a + b // sum\n}\n\nconst x = add(12345, 67.89);',
  'def f(x):\n\tif x > 0:\n\t\treturn [i ** 2 for i in range(x)]\n',
  '   leading spaces and trailing   \n\n\n  mixed \r\n line ends \t tabs',
  'Ça va? Größe, naïve café — 東京は日本の首都です。 Привет, мир! 🙂👍🏽',
  'emoji only 🚀🚀 and math ∑ x² ≤ ∞',
  '<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHi!<|im_end|>\n',
  'numbers 1 22 333 4444 55555 3.14159 -7e10 0xFF',
  '{"name": "search", "arguments": {"query": "the answer", "k": 3}}',
  '',
]

describe('the GGUF tokenizer counts as llama.cpp does', () => {
  const { path } = (() => {
    mkdirSync(fixturesDirectory, { recursive: true })
    return ensureFixture(fixturesDirectory, tinyQwen3)
  })()
  let llama: Awaited<ReturnType<typeof import('node-llama-cpp').getLlama>>
  let model: Awaited<ReturnType<typeof llama.loadModel>>

  beforeAll(async () => {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
    llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error }).catch((error: unknown) => {
      throw new Error(`node-llama-cpp cannot load its prebuilt llama.cpp binary on this machine, so the case cannot run: ${String(error)}`)
    })
    model = await llama.loadModel({ modelPath: path })
  }, 60_000)
  afterAll(async () => {
    await llama.dispose()
  })

  it('reads the header only, from a Blob, and finds vocabulary, merges and KV size', async () => {
    const bytes = readFileSync(path)
    const header = await readGgufHeader(new Blob([bytes]))
    expect(header.architecture).toBe('qwen3')
    expect(header.preTokenizer).toBe('qwen2')
    expect(header.tokens.length).toBeGreaterThan(300)
    expect(header.merges.length).toBeGreaterThan(100)
    expect(header.trainedContext).toBe(tinyQwen3.model.contextLength)
    const { blockCount, headCountKv, headDim } = tinyQwen3.model
    expect(header.kvBytesPerToken).toBe(blockCount * headCountKv * headDim * 2 * 2)
    // The header ends long before the tensors: the first few KB are enough.
    expect(() => headerOf(new Uint8Array(bytes.subarray(0, 64)))).toThrow()
  })

  it.each(samples.map((text) => [text.slice(0, 40), text] as const))('%s', async (_name, text) => {
    const tokenizer = new BpeTokenizer(await readGgufHeader(new Blob([readFileSync(path)])))
    expect(tokenizer.count(text)).toBe(model.tokenize(text, true).length)
  })

  it('counts a chat frame of each role as llama.cpp counts its text', async () => {
    const tokenizer = new BpeTokenizer(await readGgufHeader(new Blob([readFileSync(path)])))
    for (const message of [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Write a poem about the sea, please — in Français.' },
      { role: 'assistant', content: 'The sea is wide and the sky is blue.' },
    ] as const) {
      const text = messageFrameText(message)
      expect(tokenizer.count(text)).toBe(model.tokenize(text, true).length)
    }
  })
})

import { describe, expect, it } from 'vitest'
import { encodeFixture } from '../../scripts/gguf/fixture-file'
import { readF32Tensor, readGguf } from '../../scripts/gguf/reader'
import { tinyEmbedding } from '../../scripts/gguf/specs'
import { ugmTokenTypes } from '../../scripts/gguf/ugm-vocab'

const concat = (chunks: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(chunks))

describe('tiny embedding fixture (bert + XLM-R unigram tokenizer)', () => {
  const bytes = concat(encodeFixture(tinyEmbedding).chunks)
  const parsed = readGguf(bytes)
  const value = (key: string): unknown => parsed.metadata.get(key)?.value

  it('is byte-identical when generated twice from the same seed', () => {
    expect(Buffer.compare(concat(encodeFixture(tinyEmbedding).chunks), bytes)).toBe(0)
  })

  it("has the production model's kind: architecture bert, a t5 (unigram) tokenizer, CLS pooling, non-causal", () => {
    expect(value('general.architecture')).toBe('bert')
    expect(value('tokenizer.ggml.model')).toBe('t5')
    expect(value('bert.pooling_type')).toBe(2)
    expect(value('bert.attention.causal')).toBe(false)
    const tokens = value('tokenizer.ggml.tokens') as string[]
    expect(tokens.slice(0, 4)).toEqual(['<s>', '<pad>', '</s>', '<unk>'])
    expect((value('tokenizer.ggml.token_type') as number[])[3]).toBe(ugmTokenTypes.unknown)
    expect(tokens).toContain('\u2581memory')
    expect((value('tokenizer.ggml.scores') as number[]).length).toBe(tokens.length)
  })

  it('has the tensors llama.cpp creates for bert, norms ones and biases zeros', () => {
    const names = parsed.tensors.map((tensor) => tensor.name)
    for (const name of [
      'token_embd.weight',
      'token_types.weight',
      'position_embd.weight',
      'token_embd_norm.bias',
      'blk.1.attn_q.bias',
      'blk.1.attn_output_norm.weight',
      'blk.1.ffn_down.weight',
      'blk.1.layer_output_norm.bias',
    ]) {
      expect(names).toContain(name)
    }
    expect(readF32Tensor(bytes, parsed, 'blk.0.layer_output_norm.weight').every((x) => x === 1)).toBe(true)
    expect(readF32Tensor(bytes, parsed, 'blk.0.ffn_up.bias').every((x) => x === 0)).toBe(true)
  })
})

// The Q8_0 copy of the bench model that the perf-engine bench runs both engines on: its blocks say
// what was quantised, its header still parses with every tensor where it says, and llama.cpp loads it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { readGguf } from '../../scripts/gguf/reader'
import { dequantizeQ8_0, ensureQ8_0Copy, quantizeQ8_0, requantizeQ8_0, toHalfBits } from '../bench/quantized-gguf'

const tinyModel = fileURLToPath(new URL('../fixtures/tiny-qwen3.gguf', import.meta.url))

describe('Q8_0 copy of a bench GGUF', () => {
  it('rounds to the nearest half as IEEE does', () => {
    expect(toHalfBits(1)).toBe(0x3c00)
    expect(toHalfBits(-2)).toBe(0xc000)
    expect(toHalfBits(0)).toBe(0)
    expect(toHalfBits(65504)).toBe(0x7bff)
    expect(toHalfBits(1e6)).toBe(0x7c00)
    expect(toHalfBits(2 ** -24)).toBe(1)
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00) // a tie goes to the even mantissa
  })

  it('keeps every value of a block within half a step of its scale (and the f16 rounding of that scale)', () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * (i < 32 ? 0.02 : 3))
    const restored = dequantizeQ8_0(quantizeQ8_0(values))
    for (const block of [0, 1]) {
      const slice = values.slice(block * 32, block * 32 + 32)
      const step = Math.max(...slice.map(Math.abs)) / 127
      for (let i = 0; i < 32; i++) expect(Math.abs((restored[block * 32 + i] ?? 0) - (slice[i] ?? 0))).toBeLessThanOrEqual(step * 0.6)
    }
    expect(() => quantizeQ8_0(new Float32Array(33))).toThrow(/multiple of 32/)
  })

  it('quantises the 2-D weights only, and each tensor lies where its header says', () => {
    const source = new Uint8Array(readFileSync(tinyModel))
    const before = readGguf(source)
    const copy = new Uint8Array(Buffer.concat(requantizeQ8_0(source)))
    const after = readGguf(copy)
    expect(after.metadata.get('general.file_type')?.value).toBe(7)
    expect(after.dataOffset).toBe(before.dataOffset)
    for (const [index, tensor] of after.tensors.entries()) {
      const original = before.tensors[index]
      expect(tensor.name).toBe(original?.name)
      expect(tensor.shape).toEqual(original?.shape)
      const count = tensor.shape.reduce((product, size) => product * size, 1)
      const start = before.dataOffset + (original?.offset ?? 0)
      const values = new Float32Array(source.slice(start, start + count * 4).buffer)
      if (tensor.shape.length === 2) {
        expect(tensor.type).toBe(8)
        const at = after.dataOffset + tensor.offset
        expect(Array.from(dequantizeQ8_0(copy.slice(at, at + (count / 32) * 34)).slice(0, 8))).toEqual(Array.from(dequantizeQ8_0(quantizeQ8_0(values)).slice(0, 8)))
      } else {
        expect(tensor.type).toBe(0)
      }
    }
  })

  it('is a model llama.cpp loads and generates from', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'edgeswarm-q8-'))
    try {
      const target = path.join(directory, 'tiny-q8_0.gguf')
      ensureQ8_0Copy(tinyModel, target)
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
      const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error })
      try {
        const model = await llama.loadModel({ modelPath: target, gpuLayers: 0 })
        const context = await model.createContext({ contextSize: 128, threads: 1 })
        let generated = 0
        for await (const _token of context.getSequence().evaluate(model.tokenize('hello'), { temperature: 0 })) if (++generated >= 3) break
        expect(generated).toBe(3)
      } finally {
        await llama.dispose()
      }
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})

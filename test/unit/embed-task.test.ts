// The embedding task's encodings (src/market/embed-task.ts, src/shared/embeddings.ts): base64
// float32 both ways, the batches a request is cut into, and what a result's reader refuses.
import { describe, expect, it } from 'vitest'
import { decodeEmbedResult, embedBatches, encodeEmbedResult, maxEmbedTaskTexts, vectorsPerResult } from '../../src/market/embed-task'
import { shorten, vectorFromBase64, vectorsProblem, vectorToBase64 } from '../../src/shared/embeddings'

const expected = { modelId: 'm', count: 2, dimensions: 3 }

/** Why the reader refuses `text`; null: it reads vectors. */
function problemOf(text: string, expectation = expected): string | null {
  const decoded = decodeEmbedResult(text, expectation)
  return 'problem' in decoded ? decoded.problem : null
}

describe('embedding encodings', () => {
  it('writes little-endian float32 in standard base64 and reads it back', () => {
    const vector = [1, -0.5, 0.25, 3.5]
    const text = vectorToBase64(vector)
    expect(Buffer.from(text, 'base64').readFloatLE(4)).toBe(-0.5)
    expect(vectorFromBase64(text)).toEqual(vector)
    expect(vectorFromBase64('not base64!')).toBeNull()
    expect(vectorFromBase64('AAA=')).toBeNull()
  })

  it('shortens at unit length, and names what is wrong with vectors', () => {
    expect(shorten([3, 4, 12], 2)).toEqual([0.6, 0.8])
    expect(vectorsProblem([[1], [2]], 2)).toBeNull()
    expect(vectorsProblem([[1]], 2)).toMatch(/1 vectors for 2 texts/)
    expect(vectorsProblem([[1, 2], [3]], 2)).toMatch(/vector 1 has 1 dimensions/)
    expect(vectorsProblem([[1], [Number.NaN]], 2)).toMatch(/not finite/)
  })

  it('cuts texts into tasks by count, by characters and by what a result holds, in order', () => {
    const texts = Array.from({ length: 600 }, (_unused, index) => `t${index}`)
    const batches = embedBatches(texts, 384)
    expect(batches.flat()).toEqual(texts)
    expect(Math.max(...batches.map((batch) => batch.length))).toBeLessThanOrEqual(Math.min(maxEmbedTaskTexts, vectorsPerResult(384)))
    expect(embedBatches(['x'.repeat(100_000), 'y'.repeat(100_000)], 8)).toHaveLength(2)
    // Bytes, not characters: three-byte characters fill a task sooner.
    expect(embedBatches(['€'.repeat(30_000), '€'.repeat(30_000)], 8)).toHaveLength(2)
    expect(encodeEmbedResult('m', [new Float32Array(384)]).length * (vectorsPerResult(384) + 1)).toBeGreaterThan(200_000 - 2048)
  })

  it('reads a result only with the model, width and count asked for, every number finite', () => {
    const good = encodeEmbedResult('m', [new Float32Array([1, 0, 0]), new Float32Array([0, 1, 0])])
    expect(decodeEmbedResult(good, expected)).toEqual({
      vectors: [
        [1, 0, 0],
        [0, 1, 0],
      ],
    })
    const rows = (...vectors: number[][]): number[][] => vectors
    expect(problemOf(encodeEmbedResult('other', rows([1, 0, 0], [0, 1, 0])))).toMatch(/model "other"/)
    expect(problemOf(encodeEmbedResult('m', rows([1, 0], [0, 1])))).toMatch(/2 dimensions/)
    expect(problemOf(encodeEmbedResult('m', [[1, 0, 0]]))).toMatch(/1 vectors for 2 texts/)
    expect(problemOf(encodeEmbedResult('m', rows([1, 0, 0], [0, Number.POSITIVE_INFINITY, 0])))).toMatch(/not finite/)
    // It says 3 dimensions but sends 2 numbers each.
    const lying = JSON.stringify({ model: 'm', dimensions: 3, vectors: [vectorToBase64([1, 0]), vectorToBase64([0, 1])] })
    expect(problemOf(lying)).toMatch(/dimensions/)
    expect(problemOf('{"model":"m"')).toBe('the result is not JSON')
    expect(problemOf(JSON.stringify({ model: 'm', dimensions: 3, vectors: ['%%%'] }), { ...expected, count: 1 })).toMatch(/not base64/)
  })
})

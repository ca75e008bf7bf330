import * as ort from 'onnxruntime-web'
import { describe, expect, test } from 'vitest'
import { createMlp, forwardBatch, type Mlp } from '../../src/micronets/mlp'
import { exportOnnx, onnxIrVersion, onnxOpset } from '../../src/micronets/onnx/export'
import { ProtoDecodeError, readFields, readPackedVarints, type ProtoField } from '../../src/micronets/onnx/protobuf'
import { initialRouterNet } from '../../src/micronets/router'

const net: Mlp = createMlp(
  {
    inputs: 6,
    layers: [
      { units: 7, activation: 'relu' },
      { units: 5, activation: 'tanh' },
      { units: 2, activation: 'sigmoid' },
    ],
  },
  11,
)
net.layers.forEach((layer) => layer.bias.forEach((_, index) => (layer.bias[index] = 0.05 * index - 0.1)))

const text = (value: ProtoField['value']): string => (value instanceof Uint8Array ? new TextDecoder().decode(value) : '')
const bytesOf = (value: ProtoField['value']): Uint8Array => (value instanceof Uint8Array ? value : new Uint8Array())
const all = (fields: ProtoField[], field: number): ProtoField[] => fields.filter((entry) => entry.field === field)
const one = (fields: ProtoField[], field: number): ProtoField => {
  const found = all(fields, field)
  expect(found, `field ${field}`).toHaveLength(1)
  return found[0] as ProtoField
}

describe('ONNX export', () => {
  test('the bytes decode as a ModelProto with the graph the net describes', () => {
    const model = readFields(exportOnnx(net))
    expect(one(model, 1).value).toBe(BigInt(onnxIrVersion))
    const opset = readFields(bytesOf(one(model, 8).value))
    expect(text(one(opset, 1).value)).toBe('')
    expect(one(opset, 2).value).toBe(BigInt(onnxOpset))
    const graph = readFields(bytesOf(one(model, 7).value))
    const nodes = all(graph, 1).map((entry) => readFields(bytesOf(entry.value)))
    expect(nodes.map((node) => text(one(node, 4).value))).toEqual(['Gemm', 'Relu', 'Gemm', 'Tanh', 'Gemm', 'Sigmoid'])
    // Each node's inputs are the graph input, an earlier node's output, or an initializer.
    const initializers = all(graph, 5).map((entry) => readFields(bytesOf(entry.value)))
    const known = new Set(['input', ...initializers.map((tensor) => text(one(tensor, 8).value))])
    for (const node of nodes) {
      for (const input of all(node, 1)) expect(known.has(text(input.value)), text(input.value)).toBe(true)
      known.add(text(one(node, 2).value))
    }
    expect(known.has('output')).toBe(true)
    const gemm = nodes[0] ?? []
    const transB = readFields(bytesOf(one(gemm, 5).value))
    expect([text(one(transB, 1).value), one(transB, 3).value, one(transB, 20).value]).toEqual(['transB', 1n, 2n])
    // Initializers: float32 tensors of the layers' shapes, raw little-endian bytes.
    expect(initializers).toHaveLength(6)
    net.layers.forEach((layer, index) => {
      const weights = initializers[index * 2] ?? []
      const dims = readPackedVarints(bytesOf(one(weights, 1).value)).map(Number)
      expect(dims).toEqual([layer.outputs, layer.inputs])
      expect(one(weights, 2).value).toBe(1n)
      const raw = bytesOf(one(weights, 9).value)
      expect(new Float32Array(raw.slice().buffer)).toEqual(layer.weights)
    })
    for (const [field, name] of [
      [11, 'input'],
      [12, 'output'],
    ] as const)
      expect(text(one(readFields(bytesOf(one(graph, field).value)), 1).value)).toBe(name)
  })

  test('readFields refuses bytes that are not protobuf', () => {
    expect(() => readFields(Uint8Array.of(0x0a, 0x05, 0x01))).toThrow(ProtoDecodeError)
    expect(() => readFields(Uint8Array.of(0x0f))).toThrow(ProtoDecodeError)
  })

  test('onnxruntime-web (its Node build, same wasm kernels) matches the TypeScript forward pass within 1e-5', async () => {
    ort.env.wasm.numThreads = 1
    for (const candidate of [net, initialRouterNet()]) {
      const session = await ort.InferenceSession.create(exportOnnx(candidate))
      const rows = 9
      const input = Float32Array.from({ length: rows * candidate.inputs }, (_, index) => Math.sin(index * 1.7) * 1.5)
      const result = await session.run({ input: new ort.Tensor('float32', input, [rows, candidate.inputs]) })
      const output = result.output?.data
      expect(output).toBeInstanceOf(Float32Array)
      const expected = forwardBatch(candidate, input, rows)
      const actual = output instanceof Float32Array ? output : new Float32Array()
      expect(actual).toHaveLength(expected.length)
      expected.forEach((value, index) => expect(Math.abs(value - (actual[index] ?? Number.NaN))).toBeLessThan(1e-5))
      await session.release()
    }
  })
})

import { outputsOf, type Activation, type Mlp } from '../mlp'
import { float32LittleEndian, ProtoWriter } from './protobuf'

/** ONNX field numbers (onnx/onnx.proto), only those written here. */
const Model = { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8 } as const
const OpsetId = { domain: 1, version: 2 } as const
const Graph = { node: 1, name: 2, initializer: 5, input: 11, output: 12 } as const
const Node = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 } as const
const Attribute = { name: 1, i: 3, type: 20 } as const
const attributeTypeInt = 2
const Tensor = { dims: 1, dataType: 2, name: 8, rawData: 9 } as const
const tensorFloat = 1
const ValueInfo = { name: 1, type: 2 } as const
const TypeProto = { tensorType: 1 } as const
const TensorType = { elemType: 1, shape: 2 } as const
const Shape = { dim: 1 } as const
const Dim = { value: 1, param: 2 } as const

/** IR version 8 and opset 17: read by every onnxruntime-web since 1.14. */
export const onnxIrVersion = 8
export const onnxOpset = 17
export const onnxInputName = 'input'
export const onnxOutputName = 'output'

const activationOps: Readonly<Record<Activation, string | null>> = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid', linear: null }

function valueInfo(writer: ProtoWriter, name: string, width: number): void {
  writer
    .string(ValueInfo.name, name)
    .message(ValueInfo.type, (type) =>
      type.message(TypeProto.tensorType, (tensor) =>
        tensor
          .int(TensorType.elemType, tensorFloat)
          .message(TensorType.shape, (shape) => shape.message(Shape.dim, (dim) => dim.string(Dim.param, 'batch')).message(Shape.dim, (dim) => dim.int(Dim.value, width))),
      ),
    )
}

function initializer(writer: ProtoWriter, name: string, dims: readonly number[], values: Float32Array): void {
  writer.packedInts(Tensor.dims, dims).int(Tensor.dataType, tensorFloat).string(Tensor.name, name).bytes(Tensor.rawData, float32LittleEndian(values))
}

interface NodeSpec {
  op: string
  name: string
  inputs: readonly string[]
  output: string
  intAttributes?: Readonly<Record<string, number>>
}

function node(writer: ProtoWriter, spec: NodeSpec): void {
  for (const input of spec.inputs) writer.string(Node.input, input)
  writer.string(Node.output, spec.output).string(Node.name, spec.name).string(Node.opType, spec.op)
  for (const [name, value] of Object.entries(spec.intAttributes ?? {})) {
    writer.message(Node.attribute, (attribute) => attribute.string(Attribute.name, name).int(Attribute.i, value).int(Attribute.type, attributeTypeInt))
  }
}

/**
 * The net as an ONNX model (bytes of a ModelProto): input `input` [batch, inputs] float32,
 * output `output` [batch, outputs]; each layer a Gemm (weights stored [outputs, inputs], so
 * transB = 1) followed by its activation.
 */
export function exportOnnx(net: Mlp, graphName = 'edgeswarm-mlp'): Uint8Array {
  const nodes: NodeSpec[] = []
  let current = onnxInputName
  net.layers.forEach((layer, index) => {
    const last = index === net.layers.length - 1
    const op = activationOps[layer.activation]
    const gemmOut = last && op === null ? onnxOutputName : `l${index}_z`
    nodes.push({ op: 'Gemm', name: `l${index}_gemm`, inputs: [current, `l${index}_W`, `l${index}_b`], output: gemmOut, intAttributes: { transB: 1 } })
    current = gemmOut
    if (op !== null) {
      const activated = last ? onnxOutputName : `l${index}_a`
      nodes.push({ op, name: `l${index}_${layer.activation}`, inputs: [current], output: activated })
      current = activated
    }
  })
  if (net.layers.length === 0) nodes.push({ op: 'Identity', name: 'identity', inputs: [onnxInputName], output: onnxOutputName })

  return new ProtoWriter()
    .int(Model.irVersion, onnxIrVersion)
    .string(Model.producerName, 'edgeswarm')
    .string(Model.producerVersion, '1')
    .message(Model.graph, (graph) => {
      for (const spec of nodes) graph.message(Graph.node, (writer) => node(writer, spec))
      graph.string(Graph.name, graphName)
      net.layers.forEach((layer, index) => {
        graph.message(Graph.initializer, (writer) => initializer(writer, `l${index}_W`, [layer.outputs, layer.inputs], layer.weights))
        graph.message(Graph.initializer, (writer) => initializer(writer, `l${index}_b`, [layer.outputs], layer.bias))
      })
      graph.message(Graph.input, (writer) => valueInfo(writer, onnxInputName, net.inputs))
      graph.message(Graph.output, (writer) => valueInfo(writer, onnxOutputName, outputsOf(net)))
    })
    .message(Model.opsetImport, (opset) => opset.string(OpsetId.domain, '').int(OpsetId.version, onnxOpset))
    .finish()
}

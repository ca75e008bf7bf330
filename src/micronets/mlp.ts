import { mulberry32 } from '../shared/hash'

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear'

/** One fully connected layer: `output = activation(weights · input + bias)`. */
export interface DenseLayer {
  readonly inputs: number
  readonly outputs: number
  readonly activation: Activation
  /** Row-major `outputs × inputs`: the weight from input `i` to output `o` is at `o * inputs + i`. */
  readonly weights: Float32Array
  readonly bias: Float32Array
}

/** A multi-layer perceptron: dense layers, each feeding the next. */
export interface Mlp {
  readonly inputs: number
  readonly layers: readonly DenseLayer[]
}

export interface MlpSpec {
  inputs: number
  layers: readonly { units: number; activation: Activation }[]
}

/** A net's shape as one string (`12-16relu-1sigmoid`): nets of the same shape can be averaged. */
export function shapeOf(net: Mlp): string {
  return [String(net.inputs), ...net.layers.map((layer) => `${layer.outputs}${layer.activation}`)].join('-')
}

export function outputsOf(net: Mlp): number {
  return net.layers.at(-1)?.outputs ?? net.inputs
}

/** A fresh net with seeded Xavier-uniform weights (He for ReLU) and zero biases. */
export function createMlp(spec: MlpSpec, seed = 1): Mlp {
  const random = mulberry32(seed)
  let inputs = spec.inputs
  const layers = spec.layers.map(({ units, activation }) => {
    const scale = activation === 'relu' ? Math.sqrt(6 / inputs) : Math.sqrt(6 / (inputs + units))
    const weights = new Float32Array(units * inputs)
    for (let i = 0; i < weights.length; i++) weights[i] = (random() * 2 - 1) * scale
    const layer: DenseLayer = { inputs, outputs: units, activation, weights, bias: new Float32Array(units) }
    inputs = units
    return layer
  })
  return { inputs: spec.inputs, layers }
}

export function cloneMlp(net: Mlp): Mlp {
  return { inputs: net.inputs, layers: net.layers.map((layer) => ({ ...layer, weights: layer.weights.slice(), bias: layer.bias.slice() })) }
}

export function activate(activation: Activation, z: number): number {
  switch (activation) {
    case 'relu':
      return z > 0 ? z : 0
    case 'tanh':
      return Math.tanh(z)
    case 'sigmoid':
      return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))
    case 'linear':
      return z
  }
}

/** d activation / dz, written in terms of the activation's output `a`. */
export function activationSlope(activation: Activation, a: number): number {
  switch (activation) {
    case 'relu':
      return a > 0 ? 1 : 0
    case 'tanh':
      return 1 - a * a
    case 'sigmoid':
      return a * (1 - a)
    case 'linear':
      return 1
  }
}

/** One layer on one input vector; sums in doubles, stores float32 as onnxruntime does. */
export function denseForward(layer: DenseLayer, input: ArrayLike<number>): Float32Array {
  const output = new Float32Array(layer.outputs)
  for (let o = 0; o < layer.outputs; o++) {
    let sum = layer.bias[o] ?? 0
    const row = o * layer.inputs
    for (let i = 0; i < layer.inputs; i++) sum += (layer.weights[row + i] ?? 0) * (input[i] ?? 0)
    output[o] = activate(layer.activation, sum)
  }
  return output
}

/** Every layer's output for one input, the input first: what backprop needs. */
export function forwardTrace(net: Mlp, input: ArrayLike<number>): Float32Array[] {
  const trace: Float32Array[] = [Float32Array.from(input)]
  for (const layer of net.layers) trace.push(denseForward(layer, trace[trace.length - 1] ?? input))
  return trace
}

export function forward(net: Mlp, input: ArrayLike<number>): Float32Array {
  return forwardTrace(net, input).at(-1) ?? new Float32Array()
}

/** Runs `rows` inputs laid end to end in `input` (`rows × net.inputs`); outputs likewise. */
export function forwardBatch(net: Mlp, input: Float32Array, rows: number): Float32Array {
  const width = outputsOf(net)
  const output = new Float32Array(rows * width)
  for (let r = 0; r < rows; r++) output.set(forward(net, input.subarray(r * net.inputs, (r + 1) * net.inputs)), r * width)
  return output
}

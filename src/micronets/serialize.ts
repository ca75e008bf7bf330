import * as v from 'valibot'
import { ValidationError } from '../shared/errors'
import { shapeOf, type Activation, type DenseLayer, type Mlp } from './mlp'

/** Past this magnitude a weight is junk (or an attack), never a trained value of a tiny net. */
export const maxAbsWeight = 1_000
const maxUnits = 1_024
const maxLayers = 8

const ActivationSchema = v.picklist(['relu', 'tanh', 'sigmoid', 'linear'] satisfies Activation[])
const Units = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(maxUnits))
const Values = v.array(v.number())

/** A net as plain JSON: the form stored in IndexedDB and published in the room's `nets` map. */
export const SerializedMlpSchema = v.object({
  format: v.literal('edgeswarm-mlp'),
  version: v.literal(1),
  inputs: Units,
  layers: v.pipe(v.array(v.object({ outputs: Units, activation: ActivationSchema, weights: Values, bias: Values })), v.minLength(1), v.maxLength(maxLayers)),
})
export type SerializedMlp = v.InferOutput<typeof SerializedMlpSchema>

export function serializeMlp(net: Mlp): SerializedMlp {
  return {
    format: 'edgeswarm-mlp',
    version: 1,
    inputs: net.inputs,
    layers: net.layers.map((layer) => ({ outputs: layer.outputs, activation: layer.activation, weights: Array.from(layer.weights), bias: Array.from(layer.bias) })),
  }
}

function checkValues(values: readonly number[], expected: number, what: string): Float32Array {
  if (values.length !== expected) throw new ValidationError(`${what}: ${values.length} values where the shape needs ${expected}`)
  for (const value of values) {
    if (!Number.isFinite(value) || Math.abs(value) > maxAbsWeight) throw new ValidationError(`${what}: a value is NaN, infinite or beyond ±${maxAbsWeight}`)
  }
  return Float32Array.from(values)
}

/**
 * Rebuilds a net from untrusted data; throws a ValidationError for a wrong format or shape,
 * for NaN or infinite values and for values beyond ±maxAbsWeight. `expectedShape` (see
 * shapeOf) rejects a net of another shape than the caller's.
 */
export function deserializeMlp(data: unknown, expectedShape?: string): Mlp {
  const parsed = v.safeParse(SerializedMlpSchema, data)
  if (!parsed.success) throw new ValidationError(`bad net: ${v.summarize(parsed.issues)}`)
  let inputs = parsed.output.inputs
  const layers = parsed.output.layers.map((layer, index): DenseLayer => {
    const dense: DenseLayer = {
      inputs,
      outputs: layer.outputs,
      activation: layer.activation,
      weights: checkValues(layer.weights, layer.outputs * inputs, `layer ${index} weights`),
      bias: checkValues(layer.bias, layer.outputs, `layer ${index} bias`),
    }
    inputs = layer.outputs
    return dense
  })
  const net: Mlp = { inputs: parsed.output.inputs, layers }
  if (expectedShape !== undefined && shapeOf(net) !== expectedShape) throw new ValidationError(`net of shape ${shapeOf(net)} where ${expectedShape} is expected`)
  return net
}

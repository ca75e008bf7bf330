// The router's labelled set and initial weights are generated files kept in the repo: this test
// fails when they drift from the rules, and rewrites them with UPDATE_ROUTER_SET=1.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { generateRouterSet } from '../../src/micronets/data/router-rules'
import { shapeOf, type Mlp } from '../../src/micronets/mlp'
import { trainRouter } from '../../src/micronets/router-training'
import { deserializeMlp, serializeMlp } from '../../src/micronets/serialize'

const setPath = 'src/micronets/data/router-set.json'
const weightsPath = 'src/micronets/data/router-weights.json'
const update = process.env.UPDATE_ROUTER_SET === '1'

function readJson(path: string): unknown {
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null
}

describe('the router set and initial weights in the repo', () => {
  const examples = generateRouterSet()

  test('router-set.json is what the rules write', () => {
    if (update) writeFileSync(setPath, `${JSON.stringify(examples, null, 1)}\n`)
    expect(readJson(setPath)).toEqual(examples)
  })

  test('router-weights.json is what training on the set gives', () => {
    const { net } = trainRouter(examples)
    if (update) writeFileSync(weightsPath, `${JSON.stringify(serializeMlp(net))}\n`)
    // The shape check makes layer counts, sizes and activations match; then every value must.
    const committed = deserializeMlp(readJson(weightsPath), shapeOf(net))
    const valuesOf = (mlp: Mlp) => mlp.layers.flatMap((layer) => [...layer.weights, ...layer.bias])
    const trained = valuesOf(net)
    const stored = valuesOf(committed)
    expect(stored).toHaveLength(trained.length)
    stored.forEach((value, i) => expect(Math.abs(value - (trained[i] ?? Number.NaN)), `value ${i}`).toBeLessThan(1e-4))
  })
})

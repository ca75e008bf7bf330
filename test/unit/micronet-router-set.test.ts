// The router's labelled set and initial weights are generated files kept in the repo: this test
// fails when they drift from the rules, and rewrites them with UPDATE_ROUTER_SET=1.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { generateRouterSet } from '../../src/micronets/data/router-rules'
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
    const committed = deserializeMlp(readJson(weightsPath))
    committed.layers.forEach((layer, index) => {
      const trained = net.layers[index]
      expect(trained).toBeDefined()
      for (let i = 0; i < layer.weights.length; i++) expect(Math.abs((layer.weights[i] ?? 0) - (trained?.weights[i] ?? 0))).toBeLessThan(1e-4)
    })
  })
})

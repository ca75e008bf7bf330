// DESIGN.md's layer list as an ESLint rule (eslint-plugin-boundaries): imports go down the list,
// never up or sideways. Exported on its own so a unit test can run it on a fixture tree
// (test/unit/lint-layers.test.ts) and prove that an upward import fails the lint.
import boundaries from 'eslint-plugin-boundaries'

/** Each layer and the layers below it that it may import (itself always). */
export const layers = {
  app: ['ui', 'swarm', 'market', 'memory', 'inference', 'micronets', 'shared'],
  ui: ['swarm', 'market', 'memory', 'inference', 'micronets', 'shared'],
  swarm: ['market', 'memory', 'inference', 'micronets', 'shared'],
  market: ['memory', 'inference', 'micronets', 'shared'],
  memory: ['inference', 'micronets', 'shared'],
  inference: ['micronets', 'shared'],
  micronets: ['shared'],
  // The relay stands on its own: the market, memory's schemas, the inference types, shared.
  relay: ['market', 'memory', 'inference', 'shared'],
  workers: ['inference', 'micronets', 'shared'],
  shared: [],
}

const elements = [
  { type: 'ui', pattern: 'src/ui' },
  { type: 'swarm', pattern: 'src/swarm' },
  { type: 'market', pattern: 'src/market' },
  { type: 'memory', pattern: 'src/memory' },
  { type: 'inference', pattern: 'src/inference' },
  { type: 'micronets', pattern: 'src/micronets' },
  { type: 'relay', pattern: 'src/relay' },
  { type: 'shared', pattern: 'src/shared' },
  { type: 'workers', pattern: 'workers' },
  // The composition root and the page API, the files directly in src/. boundaries 7 calls
  // `mode: 'file'` deprecated (and says so once per run), but its replacements do not yet
  // classify single files as elements.
  { type: 'app', pattern: 'src/*.ts', mode: 'file' },
]

/** The flat-config entries that check the layers of the tree under `rootPath`. */
export function layerConfig(rootPath) {
  const policies = Object.entries(layers).map(([from, allowed]) => ({
    from: { element: { type: from } },
    allow: { to: { element: { types: { anyOf: [from, ...allowed] } } } },
  }))
  return [
    {
      files: ['src/**/*.ts', 'workers/**/*.ts'],
      plugins: { boundaries },
      settings: {
        'boundaries/root-path': rootPath,
        'boundaries/include': ['src/**/*.ts', 'workers/**/*.ts'],
        'boundaries/elements': elements,
        'import/resolver': { typescript: { extensions: ['.ts', '.js', '.json'] } },
      },
      rules: {
        'boundaries/dependencies': ['error', { default: 'disallow', policies }],
        'boundaries/no-unknown-files': 'error',
        'boundaries/no-unknown-dependencies': 'error',
      },
    },
    {
      // Of the inference layer the relay uses only the types (no engine runs in Node).
      files: ['src/relay/**/*.ts'],
      rules: {
        'no-restricted-imports': ['error', { patterns: [{ regex: '/inference/(?!types$)', message: 'the relay may import only src/inference/types (DESIGN.md, Layers)' }] }],
      },
    },
  ]
}

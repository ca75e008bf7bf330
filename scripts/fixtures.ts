// `npm run fixtures`: writes the random-weight test models into test/fixtures/ (gitignored),
// skipping each one that is already up to date. See test/fixtures/README.md.
import { mkdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ensureFixture } from './gguf/fixture-file'
import { fixtureSpecs } from './gguf/specs'

const fixturesDirectory = fileURLToPath(new URL('../test/fixtures/', import.meta.url))
mkdirSync(fixturesDirectory, { recursive: true })

for (const spec of fixtureSpecs) {
  const startedMs = performance.now()
  const { path, status, sha256 } = ensureFixture(fixturesDirectory, spec)
  const megabytes = (statSync(path).size / 1e6).toFixed(1)
  const elapsedMs = Math.round(performance.now() - startedMs)
  console.log(`${spec.fileName}: ${status} (${megabytes} MB, sha256 ${sha256.slice(0, 12)}, ${elapsedMs} ms)`)
}

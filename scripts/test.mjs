// `npm test`: everything that must pass, in order, then one closing line that counts the tests:
// typecheck, lint (with the circular-import check), unit tests, build, end-to-end tests.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'

const reports = 'reports'
rmSync(reports, { recursive: true, force: true })
mkdirSync(reports, { recursive: true })

const steps = [
  ['typecheck', 'npm', ['run', 'typecheck']],
  ['lint', 'npm', ['run', 'lint']],
  ['unit', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reports}/unit.json`]],
  ['fixtures', 'npm', ['run', 'fixtures']],
  ['build', 'npm', ['run', 'build']],
  ['build:harness', 'npm', ['run', 'build:harness']],
  ['e2e', 'npx', ['playwright', 'test']],
]

const failedSteps = []
for (const [name, command, args] of steps) {
  console.log(`\n=== ${name}: ${command} ${args.join(' ')}`)
  const { status } = spawnSync(command, args, { stdio: 'inherit' })
  if (status !== 0) {
    failedSteps.push(name)
    if (name.startsWith('build') || name === 'fixtures') break
  }
}

function readJson(path) {
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null
}

const unit = readJson(`${reports}/unit.json`)
const e2e = readJson(`${reports}/e2e.json`)
const flaky = e2e?.stats?.flaky ?? 0
const passed = (unit?.numPassedTests ?? 0) + (e2e?.stats?.expected ?? 0) + flaky
const failed = (unit?.numFailedTests ?? 0) + (e2e?.stats?.unexpected ?? 0)
const skipped = (unit?.numPendingTests ?? 0) + (e2e?.stats?.skipped ?? 0)

console.log('')
if (failedSteps.length > 0) console.log(`failed steps: ${failedSteps.join(', ')}`)
if (flaky > 0) console.log(`flaky: ${flaky} end-to-end test(s) passed only on their retry (see the list above)`)
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failedSteps.length > 0 || failed > 0 || passed === 0 ? 1 : 0)

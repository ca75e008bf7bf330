// `npm test`: everything that must pass, in order, then one closing line that counts the tests:
// typecheck, lint (layers and the circular-import check), format check, unit tests, build,
// end-to-end tests. A
// skipped test fails the run: a case that did not run checked nothing (STYLE.md 16).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { relative } from 'node:path'

const reports = 'reports'
rmSync(reports, { recursive: true, force: true })
mkdirSync(reports, { recursive: true })

const steps = [
  ['typecheck', 'npm', ['run', 'typecheck']],
  ['lint', 'npm', ['run', 'lint']],
  ['format', 'npm', ['run', 'format:check']],
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

/** `file › title` of each unit test that did not run (Vitest's JSON: pending, skipped, todo). */
function skippedUnitTests(report) {
  const notRun = new Set(['pending', 'skipped', 'todo', 'disabled'])
  return (report?.testResults ?? []).flatMap((file) =>
    (file.assertionResults ?? []).filter((test) => notRun.has(test.status)).map((test) => `${relative(process.cwd(), file.name)} › ${test.fullName ?? test.title}`),
  )
}

/** `file › suite › title` of each end-to-end test that Playwright skipped (test.skip, fixme, a serial suite cut short). */
function skippedE2eTests(report) {
  const found = []
  const walk = (suite, path) => {
    const here = suite.title ? [...path, suite.title] : path
    for (const spec of suite.specs ?? []) {
      if ((spec.tests ?? []).some((test) => test.status === 'skipped')) found.push([...here, spec.title].join(' › '))
    }
    for (const child of suite.suites ?? []) walk(child, here)
  }
  for (const suite of report?.suites ?? []) walk(suite, [])
  return found
}

const skippedTests = [...skippedUnitTests(unit), ...skippedE2eTests(e2e)]
const skipped = Math.max(skippedTests.length, (unit?.numPendingTests ?? 0) + (unit?.numTodoTests ?? 0) + (e2e?.stats?.skipped ?? 0))

console.log('')
if (failedSteps.length > 0) console.log(`failed steps: ${failedSteps.join(', ')}`)
if (flaky > 0) console.log(`flaky: ${flaky} end-to-end test(s) passed only on their retry (see the list above)`)
if (skipped > 0) {
  console.log(`skipped: ${skipped} test(s) did not run, which fails the run (an environment that cannot run a case is an error):`)
  for (const name of skippedTests) console.log(`  - ${name}`)
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failedSteps.length > 0 || failed > 0 || skipped > 0 || passed === 0 ? 1 : 0)

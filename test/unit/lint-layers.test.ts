// The lint encodes DESIGN.md's layers and the circular-import check: run on small fixture trees
// (test/lint-fixtures), it must refuse an upward import, a type-only upward import, the relay
// reaching past the inference types, and a cycle made of type-only imports.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ESLint } from 'eslint'
import tseslint from 'typescript-eslint'
import { describe, expect, it } from 'vitest'
import { layerConfig } from '../../eslint.layers.js'

const root = path.resolve(import.meta.dirname, '../..')
const fixtures = path.join(root, 'test/lint-fixtures')

async function layerErrors(): Promise<Map<string, string[]>> {
  const eslint = new ESLint({
    cwd: fixtures,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...layerConfig(fixtures)],
  })
  const results = await eslint.lintFiles(['src/**/*.ts'])
  return new Map(results.map((result) => [path.relative(fixtures, result.filePath), result.messages.map((message) => `${message.ruleId ?? 'parse'}: ${message.message}`)]))
}

/** The dpdm command of `npm run lint`, pointed at another tree. */
function circularCheck(globs: string[]): { status: number | null; output: string } {
  const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  const dpdm = /dpdm [^&]*/.exec(scripts.lint ?? '')?.[0]
  if (!dpdm) throw new Error('npm run lint has no dpdm step')
  const flags = dpdm.split(/\s+/).filter((part) => part.startsWith('-') || /^circular:\d$/.test(part))
  const run = spawnSync('npx', ['dpdm', ...flags, ...globs], { cwd: root, encoding: 'utf8' })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

describe('lint: layers and cycles', () => {
  it('refuses upward and sideways imports, type-only ones included, and allows downward ones', async () => {
    const errors = await layerErrors()
    expect(errors.get('src/inference/upward.ts')?.join('\n')).toMatch(/boundaries\/dependencies.*"inference".*"ui"/)
    expect(errors.get('src/inference/upward-type.ts')?.join('\n')).toMatch(/boundaries\/dependencies.*"inference".*"market"/)
    expect(errors.get('src/relay/sideways.ts')).toEqual([expect.stringMatching(/no-restricted-imports.*inference\/engine.*only src\/inference\/types/)])
    for (const allowed of ['src/inference/engine.ts', 'src/inference/types.ts', 'src/ui/view.ts', 'src/market/task.ts', 'src/shared/text.ts']) expect(errors.get(allowed), allowed).toEqual([])
  }, 60_000)

  it('finds a cycle of type-only imports, and none in a tree without one', () => {
    const cycle = circularCheck(['test/lint-fixtures/cycle/*.ts'])
    expect(cycle.output).toMatch(/lint-fixtures\/cycle\/a\.ts -> test\/lint-fixtures\/cycle\/b\.ts|lint-fixtures\/cycle\/b\.ts -> test\/lint-fixtures\/cycle\/a\.ts/)
    expect(cycle.status).toBe(1)
    expect(circularCheck(['test/lint-fixtures/src/**/*.ts']).status).toBe(0)
  }, 60_000)
})

import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { rebuildError, registeredErrorNames, serializeError } from '../../src/shared/errors'

const root = join(import.meta.dirname, '../..')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

// Every `export class SomethingError extends …` in src, found by reading the sources, so a new
// error class cannot be forgotten by this test either.
const exported = sourceFiles(join(root, 'src')).flatMap((path) => [...readFileSync(path, 'utf8').matchAll(/^export class (\w+Error) extends /gm)].map((match) => ({ path, name: match[1] ?? '' })))

describe('the error registry', () => {
  it('finds the error classes to check', () => {
    expect(exported.length).toBeGreaterThan(20)
  })

  for (const { path, name } of exported) {
    it(`${name} (${relative(root, path)}) round-trips as its own class`, async () => {
      const module = (await import(path)) as Record<string, unknown>
      const ErrorClass = module[name]
      if (typeof ErrorClass !== 'function') throw new Error(`${name} is not exported as a class`)
      expect(registeredErrorNames()).toContain(name)
      const original = rebuildError({ name, message: 'probe' })
      expect(original).toBeInstanceOf(ErrorClass)
      const serialized = serializeError(original)
      expect(serialized).toEqual({ name, message: 'probe' })
      const rebuilt = rebuildError(structuredClone(serialized))
      expect(rebuilt.constructor).toBe(ErrorClass)
      expect(rebuilt.name).toBe(name)
      expect(rebuilt.message).toBe('probe')
    })
  }

  it('rebuilds an unknown name as a plain Error that keeps the name', () => {
    const rebuilt = rebuildError({ name: 'SomeoneElsesError', message: 'far away' })
    expect(rebuilt.constructor).toBe(Error)
    expect(rebuilt.name).toBe('SomeoneElsesError')
    expect(rebuilt.message).toBe('far away')
  })
})

// The packages this project patches (patch-package's patches/, applied on npm install) as another
// tree had them: stock, for the pages that prove the doc is a public contract and for the
// benches' "stock" figures; or as an earlier commit patched them, for the benches' "before".
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/** Patch texts by package name: this checkout's (`ref` null) or those of commit `ref`. */
export function patchesOf(ref: string | null): Map<string, string> {
  const names = ref === null ? (existsSync('patches') ? readdirSync('patches') : []) : execFileSync('git', ['ls-tree', '--name-only', `${ref}:patches`], { encoding: 'utf8' }).split('\n')
  const patches = new Map<string, string>()
  for (const name of names.filter((file) => file.endsWith('.patch'))) {
    const text = ref === null ? readFileSync(path.join('patches', name), 'utf8') : execFileSync('git', ['show', `${ref}:patches/${name}`], { encoding: 'utf8' })
    // `@scope+name+1.2.3.patch` is `@scope/name`.
    patches.set(name.slice(0, name.lastIndexOf('+')).replaceAll('+', '/'), text)
  }
  return patches
}

/** A digest of two sets of patches: what a copy made from them was made from. */
export function stampOf(...sets: Map<string, string>[]): string {
  return createHash('sha256')
    .update(JSON.stringify(sets.map((set) => [...set].sort(([a], [b]) => (a < b ? -1 : 1)))))
    .digest('hex')
}

/**
 * Copies this checkout's package `name` to `root`/node_modules/`name`, takes this checkout's
 * patch of it (`mine`, from patchesOf(null)) off and puts `wanted` on (none: the package as published).
 */
export function copyPatchedAs(root: string, name: string, mine: string | undefined, wanted: string | undefined): void {
  const target = path.join(root, 'node_modules', name)
  rmSync(target, { recursive: true, force: true })
  mkdirSync(path.dirname(target), { recursive: true })
  execFileSync('cp', ['-a', path.resolve('node_modules', name), target])
  if (mine !== undefined) execFileSync('patch', ['-R', '-p1', '-s', '-d', root], { input: mine })
  if (wanted !== undefined) execFileSync('patch', ['-p1', '-s', '-d', root], { input: wanted })
}

const stockRoot = path.resolve('node_modules/.cache/edgeswarm/stock-packages')

/** The copies of the packages this project patches, as published (the patches taken off), made once per set of patches. */
export function stockPackages(): Map<string, string> {
  const patches = patchesOf(null)
  const stampFile = path.join(stockRoot, 'stamp')
  const stamp = `${stampOf(patches)} y-protocols`
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    for (const [name, mine] of patches) copyPatchedAs(stockRoot, name, mine, undefined)
    // Beside them, so that in Node it resolves `yjs` to the stock copy too (a bundle aliases it).
    copyPatchedAs(stockRoot, 'y-protocols', undefined, undefined)
    writeFileSync(stampFile, stamp)
  }
  return patches
}

/** The ES module entry of a package this project patches, as published (`yjs`, `y-webrtc`). */
export function stockEntryOf(name: string): string {
  if (!stockPackages().has(name)) throw new Error(`${name} is not a patched package`)
  const dir = path.join(stockRoot, 'node_modules', name)
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { module?: string; main?: string }
  return path.join(dir, manifest.module ?? manifest.main ?? 'index.js')
}

// "Before" for the side-by-side benches: a git worktree of an earlier commit beside this
// checkout whose market, simulation, app build and relay a bench runs next to this tree's in the
// same run. Two kinds: one sharing this checkout's node_modules (its market mixes with this
// tree's docs in one process, so both must load one Yjs), and one with node_modules of its own,
// patched as that commit patched them (patches/), for what runs apart: its simulation, its app.
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { copyPatchedAs, patchesOf, stampOf } from '../e2e/support/patched-packages'
import type { MarketClass } from './market-room'
import { startRelay, type RelayProcess } from './relay-process'

/** The tree before the performance issue (its last landed commit); BENCH_PERF_BEFORE_REF picks another. */
export const perfBeforeRef = process.env.BENCH_PERF_BEFORE_REF ?? 'a380dfb'

/** The worktree of `ref` at `dir` (in the system's temp folder), added when it is not there. */
function addedWorktree(ref: string, name: string): string {
  const dir = path.join(tmpdir(), name)
  if (!existsSync(dir)) {
    // A worktree whose folder was removed (a cleaned /tmp) is still registered until pruned.
    execFileSync('git', ['worktree', 'prune'], { stdio: 'ignore' })
    execFileSync('git', ['worktree', 'add', '--detach', dir, ref], { stdio: 'ignore' })
  }
  return dir
}

/** A worktree of `ref` beside this checkout, sharing its node_modules; made once. */
export function worktreeOf(ref: string): string {
  const dir = addedWorktree(ref, `edgeswarm-bench-${ref}`)
  const modules = path.join(dir, 'node_modules')
  if (!existsSync(modules)) symlinkSync(path.resolve('node_modules'), modules, 'dir')
  return dir
}

/**
 * A worktree of `ref` with node_modules of its own: this checkout's packages, hard-linked, except
 * the ones either tree patches, which are copied with this tree's patch taken off and `ref`'s put
 * on. Its simulation and its app then run on its own Yjs and y-webrtc, not this tree's patched
 * ones. Made again when this tree's patches change.
 */
export function ownModulesTreeOf(ref: string): string {
  const dir = addedWorktree(ref, `edgeswarm-bench-${ref}-own`)
  const mine = patchesOf(null)
  const theirs = patchesOf(ref)
  const stamp = stampOf(mine, theirs)
  const modules = path.join(dir, 'node_modules')
  const stampFile = path.join(modules, '.edgeswarm-before-stamp')
  const isLink = existsSync(modules) && lstatSync(modules).isSymbolicLink()
  if (!isLink && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return dir
  rmSync(modules, { recursive: true, force: true })
  rmSync(path.join(dir, 'dist'), { recursive: true, force: true })
  execFileSync('cp', ['-al', path.resolve('node_modules'), modules])
  for (const name of new Set([...mine.keys(), ...theirs.keys()])) copyPatchedAs(dir, name, mine.get(name), theirs.get(name))
  writeFileSync(stampFile, stamp)
  return dir
}

/** The worktree of `ref` (its own node_modules) with its app built (`dist/` inside it); built once. */
export function builtTreeOf(ref: string): string {
  const dir = ownModulesTreeOf(ref)
  if (!existsSync(path.join(dir, 'dist', 'index.html'))) execFileSync(process.execPath, [path.resolve('node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], { cwd: dir, stdio: 'inherit' })
  return dir
}

/** The relay of the tree in `dir` (its own src/relay, serving its own dist). */
export function startRelayOf(dir: string, env: Record<string, string> = {}): Promise<RelayProcess> {
  return startRelay({ RELAY_STATIC_DIR: path.join(dir, 'dist'), ...env }, dir)
}

/** The MarketNode class of the tree in `dir`, loaded into this process. */
export async function marketAt(dir: string): Promise<MarketClass> {
  // The market moved from src/swarm/market to src/market after the 'before' version.
  const file = ['src/market/node.ts', 'src/swarm/market/node.ts'].map((name) => path.join(dir, name)).find((name) => existsSync(name)) ?? ''
  const module = (await import(pathToFileURL(file).href)) as { MarketNode: MarketClass }
  return module.MarketNode
}

/** simulateMarket of the tree in `dir` (its own market and simulation): give it an ownModulesTreeOf, or it runs on this tree's Yjs. */
export async function simulateAt(dir: string, nodes: number, tasks: number, seed: number): Promise<{ operations: number; wallMs: number }> {
  const module = (await import(pathToFileURL(path.join(dir, 'test/unit/market-sim/scenario.ts')).href)) as {
    simulateMarket(options: { nodes: number; tasks: number; seed: number }): Promise<{ operations: number; wallMs: number }>
  }
  return module.simulateMarket({ nodes, tasks, seed })
}

/** Makes the simulated nodes' keys of the tree in `dir` (null: this one) ahead of a timed run, which then holds deliveries only. */
export async function warmSimKeysAt(dir: string | null, nodes: number): Promise<void> {
  const file = path.join(dir ?? process.cwd(), 'test/unit/market-sim/keys.ts')
  const module = (await import(pathToFileURL(file).href)) as { fixedSigner(index: number): Promise<unknown> }
  for (let index = 0; index < nodes; index++) await module.fixedSigner(index)
}

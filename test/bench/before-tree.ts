// "Before" for the side-by-side benches: a git worktree of an earlier commit beside this
// checkout, sharing its node_modules, whose market, simulation, app build and relay a bench
// runs next to this tree's in the same run.
import { execFileSync } from 'node:child_process'
import { existsSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { MarketClass } from './market-room'
import { startRelay, type RelayProcess } from './relay-process'

/** The tree before the performance issue (its last landed commit); BENCH_PERF_BEFORE_REF picks another. */
export const perfBeforeRef = process.env.BENCH_PERF_BEFORE_REF ?? 'a380dfb'

/** A worktree of `ref` beside this checkout, sharing its node_modules; made once. */
export function worktreeOf(ref: string): string {
  const dir = path.join(tmpdir(), `edgeswarm-bench-${ref}`)
  if (!existsSync(dir)) {
    // A worktree whose folder was removed (a cleaned /tmp) is still registered until pruned.
    execFileSync('git', ['worktree', 'prune'], { stdio: 'ignore' })
    execFileSync('git', ['worktree', 'add', '--detach', dir, ref], { stdio: 'ignore' })
  }
  const modules = path.join(dir, 'node_modules')
  if (!existsSync(modules)) symlinkSync(path.resolve('node_modules'), modules, 'dir')
  return dir
}

/** The worktree of `ref` with its app built (`dist/` inside it); built once. */
export function builtTreeOf(ref: string): string {
  const dir = worktreeOf(ref)
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

/** simulateMarket of the tree in `dir` (its own market and simulation). */
export async function simulateAt(dir: string, nodes: number, tasks: number, seed: number): Promise<{ operations: number; wallMs: number }> {
  const module = (await import(pathToFileURL(path.join(dir, 'test/unit/market-sim/scenario.ts')).href)) as {
    simulateMarket(options: { nodes: number; tasks: number; seed: number }): Promise<{ operations: number; wallMs: number }>
  }
  return module.simulateMarket({ nodes, tasks, seed })
}

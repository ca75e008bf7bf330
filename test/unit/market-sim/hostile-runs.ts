import { expect } from 'vitest'
import { behaviours } from './hostile'
import { runScenario } from './scenario'

export const fixedHostileSeed = process.env.MARKET_HOSTILE_SEED === undefined ? null : Number(process.env.MARKET_HOSTILE_SEED)
const replay = (seed: number) => `MARKET_HOSTILE_SEED=${seed} npx vitest run test/unit/market-sim-hostile`

/** Small rooms, so that thousands of seeds fit in the suite: 4 to 12 nodes, f < n / 3 of them hostile. */
export function hostileSizeOf(seed: number): { nodes: number; tasks: number; hostile: number } {
  const nodes = 4 + (seed % 9)
  return { nodes, tasks: 3 + ((seed * 5) % 6), hostile: 1 + ((seed * 3) % Math.ceil(nodes / 3 - 1)) }
}

/**
 * Runs the hostile simulation for `seeds` and fails on the first broken invariant, printing the
 * seed and its replay command. Returns how often each behaviour attacked.
 */
export async function runHostileSeeds(seeds: readonly number[]): Promise<Map<string, number>> {
  const attacks = new Map<string, number>()
  let tasks = 0
  for (const seed of seeds) {
    const size = hostileSizeOf(seed)
    expect(size.hostile * 3).toBeLessThan(size.nodes)
    // A quarter of the runs add crashes, partitions and drops to the hostile members.
    const report = await runScenario({ ...size, seed, faults: seed % 4 === 0 })
    tasks += report.tasksChecked
    for (const [behaviour, count] of report.attacks) attacks.set(behaviour, (attacks.get(behaviour) ?? 0) + count)
    if (report.problems.length > 0) {
      const message = `hostile seed ${seed} failed; replay with: ${replay(seed)}\n${report.problems.slice(0, 10).join('\n')}`
      console.error(message)
      expect.fail(message)
    }
  }
  console.log(`market simulation with hostile members: ${seeds.length} seeds, ${tasks} honest tasks checked, attacks ${JSON.stringify(Object.fromEntries([...attacks].sort()))}`)
  // Every behaviour of the menu attacked somewhere: a hostile that did nothing proves nothing.
  if (seeds.length >= 100) for (const behaviour of behaviours) expect(attacks.get(behaviour) ?? 0, behaviour).toBeGreaterThan(0)
  return attacks
}

/** This file's share of the seeds: `part` of `parts`, `perPart` each (MARKET_HOSTILE_RUNS overrides). */
export function seedsOf(part: number): number[] {
  if (fixedHostileSeed !== null) return part === 0 ? [fixedHostileSeed] : []
  const perPart = Number(process.env.MARKET_HOSTILE_RUNS ?? 1_000)
  return Array.from({ length: perPart }, (_, k) => 10_001 + part * 100_000 + k)
}

import { describe, expect, it } from 'vitest'
import { runScenario } from './market-sim/scenario'

const replay = (seed: number, faults: boolean) => `MARKET_SEED=${seed} npx vitest run test/unit/market-sim-ledger.test.ts -t ${faults ? 'faults' : 'exactly'}`
const fixedSeed = process.env.MARKET_SEED === undefined ? null : Number(process.env.MARKET_SEED)
const seeds = fixedSeed === null ? Array.from({ length: 12 }, (_, k) => 300 + k) : [fixedSeed]

// runScenario checks the ledger of every run (scenario.ts ledgerProblems): the same totals on
// every live node, and, without faults, exactly the signed usage of what peers ran for each other.
describe('market simulation: the contribution ledger', () => {
  for (const faults of [false, true])
    it(
      faults ? 'every node counts the same totals through crashes, drops and partitions (faults)' : 'after a run of tasks every node counts exactly the signed tokens served and consumed',
      async () => {
        let counted = 0
        for (const seed of seeds) {
          const report = await runScenario({ nodes: 4 + (seed % 5), tasks: 10 + (seed % 11), seed, faults })
          if (report.problems.length > 0) expect.fail(`seed ${seed} failed; replay with: ${replay(seed, faults)}\n${report.problems.slice(0, 10).join('\n')}`)
          counted += report.ledgerTasks
        }
        // Most tasks run on a peer of their poster: the ledger has something to agree on.
        expect(counted).toBeGreaterThan(seeds.length * 5)
      },
      300_000,
    )
})

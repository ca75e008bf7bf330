import { describe, it } from 'vitest'
import { runHostileSeeds, seedsOf } from './market-sim/hostile-runs'

// The hostile simulation's seeds are split over two files so that vitest runs them side by side.
describe('market simulation with hostile members (2 of 2)', () => {
  it('every honest poster gets exactly one answer an honest executor signed, and sees no text an honest executor did not write', async () => {
    await runHostileSeeds(seedsOf(1))
  }, 1_200_000)
})

import { describe, expect, it } from 'vitest'
import { runScenario } from './market-sim/scenario'
import { rng } from './market-sim/scheduler'
import { linkCapSpread, minLinkCap, Topology } from './market-sim/topology'

const fixedSeed = process.env.MARKET_SEED === undefined ? null : Number(process.env.MARKET_SEED)
const replay = (seed: number) => `MARKET_SEED=${seed} npx vitest run test/unit/market-sim-mesh.test.ts`
const roomSize = 100

describe('rooms past the mesh cap', () => {
  it('y-webrtc’s link rule gives a connected partial mesh: a joining node links to those with room under their cap', () => {
    const topology = new Topology(roomSize, rng(fixedSeed ?? 3))
    for (let index = 0; index < roomSize; index++) topology.join(index)
    expect(topology.connected()).toBe(true)
    const degrees = topology.degrees()
    // The nodes that were there first filled up to their cap; nobody links to all 99 others.
    expect(Math.max(...degrees)).toBeLessThan(roomSize - 1)
    expect(Math.max(...degrees.slice(0, 40))).toBeLessThanOrEqual(minLinkCap + linkCapSpread - 1)
    const farthest = Math.max(...topology.distances(0))
    expect(farthest).toBeGreaterThan(1)
    // A node that leaves: its neighbours announce themselves again and fill their free links.
    for (const index of [5, 17, 40]) topology.leave(index)
    expect(topology.connected()).toBe(true)
    for (const index of [5, 17, 40]) expect(topology.neighbours(index).size).toBe(0)
    topology.join(17)
    expect(topology.neighbours(17).size).toBeGreaterThan(0)
  })

  it('a 100-node room on a partial mesh, with drops, partitions and crashes, converges and every task of a surviving poster finishes exactly once', async () => {
    const seed = fixedSeed ?? 11
    const report = await runScenario({ nodes: roomSize, tasks: 12, seed, faults: true, mesh: 'partial' })
    if (report.problems.length > 0) expect.fail(`seed ${seed} failed; replay with: ${replay(seed)}\n${report.problems.slice(0, 10).join('\n')}`)
    expect(report.tasksChecked).toBeGreaterThan(0)
    // Updates went further than one link: the flood carried them.
    const { hops } = report.deliveries
    expect(hops.reduce((most, hop) => Math.max(most, hop), 0)).toBeGreaterThan(1)
    expect(hops.reduce((sum, hop) => sum + hop, 0) / hops.length).toBeGreaterThan(1.5)
  }, 120_000)

  it('without faults every update a node writes reaches all 99 others through the partial mesh', async () => {
    const seed = fixedSeed ?? 5
    const report = await runScenario({ nodes: roomSize, tasks: 4, seed, faults: false, mesh: 'partial' })
    if (report.problems.length > 0) expect.fail(`seed ${seed} failed; replay with: ${replay(seed)}\n${report.problems.slice(0, 10).join('\n')}`)
    expect(report.deliveries.incomplete).toBe(0)
    expect(report.deliveries.deliveryMs.length).toBeGreaterThan(0)
    expect(report.deliveries.hops.length).toBe(report.deliveries.deliveryMs.length * (roomSize - 1))
  }, 120_000)
})

// The figures of "rooms past the mesh cap" (issue 13): in a 100-node simulated room, how long an
// update takes to reach every node and over how many links, on the partial mesh y-webrtc forms
// past its link cap (updates flooded) beside a full mesh of the same size.
import { runScenario } from '../unit/market-sim/scenario'
import { fmt, median, percentile, runSection, table } from './stats'

const nodes = 100
const tasks = 20
const seeds = [1, 2, 3]
const meshes = ['full', 'partial'] as const

export async function benchMesh(): Promise<void> {
  await runSection('mesh', 'delivery in a 100-node room', async () => {
    const rows: string[][] = []
    // Without faults: a drop or partition is healed by a state-vector resync, which carries no
    // trace, so with faults most updates would reach someone untraced and go uncounted.
    for (const mesh of meshes) {
      const deliveryMs: number[] = []
      const hops: number[] = []
      let written = 0
      let messages = 0
      let incomplete = 0
      let wallMs = 0
      for (const seed of seeds) {
        const started = performance.now()
        const report = await runScenario({ nodes, tasks, seed, faults: false, mesh })
        wallMs += performance.now() - started
        if (report.problems.length > 0) throw new Error(`${mesh} mesh, seed ${seed}: ${report.problems.slice(0, 3).join('; ')}`)
        for (const ms of report.deliveries.deliveryMs) deliveryMs.push(ms)
        for (const hop of report.deliveries.hops) hops.push(hop)
        written += report.deliveries.deliveryMs.length + report.deliveries.incomplete
        incomplete += report.deliveries.incomplete
        messages += report.messages
      }
      const meanHops = hops.reduce((sum, hop) => sum + hop, 0) / hops.length
      rows.push([
        mesh,
        String(written),
        fmt(median(deliveryMs), 0),
        fmt(percentile(deliveryMs, 95), 0),
        fmt(meanHops, 2),
        String(hops.reduce((most, hop) => Math.max(most, hop), 0)),
        fmt(messages / written, 1),
        String(incomplete),
        fmt(wallMs / seeds.length / 1000, 1),
      ])
    }
    table(
      `Update delivery in a ${nodes}-node simulated room (${tasks} tasks, seeds ${seeds.join(', ')}, no faults, 10–30 ms per link)`,
      ['mesh', 'updates', 'to all p50 ms', 'to all p95 ms', 'hops mean', 'hops max', 'messages / update', 'not traced to all', 'wall s / run'],
      rows,
    )
    console.log(
      'update = one node’s writes in one virtual instant, merged (as a market node writes a spec, a bid, a batch); "to all" = from its write to when the last other node applied it (only updates that reached all 99 by a traced path); hops = per (update, node), the links of the path by which the update first reached that node. Partial mesh: each node links as y-webrtc does (a joining or bereaved node announces; every node under its cap of 20 + 0–14 links connects), and every node sends on each update it applies to all its links (counted in messages; the simulation skips decoding one a doc already has). Full mesh: every node sends its own updates to all others.',
    )
  })
}

// Issue 16 ("fast at room scale"), part 2: what a market delivery costs (one node applying one
// other node's update) at 10, 100 and 1,000 nodes, before and after, side by side in one run.
// Run alone with `BENCH_SECTIONS=perf-delivery npm run bench`.
import { signatureChecks, signatureChecksByKind } from '../../src/market/signing'
import { simulateMarket } from '../unit/market-sim/scenario'
import { ownModulesTreeOf, perfBeforeRef, simulateAt, warmSimKeysAt } from './before-tree'
import { fmt, median, table } from './stats'

const seed = 1
/**
 * Fewer tasks at 1,000 nodes and more, for both: there a run of 5 tasks took 20–120 s on a loaded
 * 2-core machine. 2,000 nodes shows whether the cost still grows with the room past 1,000.
 */
const rooms: { nodes: number; tasks: number }[] = [
  { nodes: 10, tasks: 5 },
  { nodes: 100, tasks: 5 },
  { nodes: 1000, tasks: 3 },
  { nodes: 2000, tasks: 3 },
]

interface Run {
  operations: number
  wallMs: number
  /** Signatures checked in the run; null where this process cannot count them (the before tree's market). */
  checks: number | null
  byKind: Map<string, number>
  bidders: number[] | null
}

type Version = 'before' | 'after, per node' | 'after, shared'

async function measure(version: Version, nodes: number, tasks: number): Promise<Run> {
  await warmSimKeysAt(version === 'before' ? ownModulesTreeOf(perfBeforeRef) : null, nodes)
  const checksBefore = signatureChecks()
  const kindsBefore = signatureChecksByKind()
  if (version === 'before') {
    const run = await simulateAt(ownModulesTreeOf(perfBeforeRef), nodes, tasks, seed)
    return { ...run, checks: null, byKind: new Map(), bidders: null }
  }
  const run = await simulateMarket({ nodes, tasks, seed, verdicts: version === 'after, shared' ? 'shared' : 'node' })
  const byKind = new Map([...signatureChecksByKind()].map(([kind, count]) => [kind, count - (kindsBefore.get(kind) ?? 0)]))
  return { ...run, checks: signatureChecks() - checksBefore, byKind, bidders: run.bidders }
}

/**
 * Runs of each version per room, interleaved: one 1,000-node run on this noisy machine gave
 * anywhere from 22 to 40 µs a delivery, so the table shows the median and the spread.
 */
const repeats = Math.max(1, Number(process.env.BENCH_DELIVERY_REPEATS ?? 3))

const perDeliveryOf = (run: Run, nodes: number): number => (run.wallMs * 1000) / (run.operations * (nodes - 1))

export async function benchPerfDelivery(): Promise<void> {
  const startedMs = performance.now()
  const rows: string[][] = []
  const kinds: string[][] = []
  for (const [i, { nodes, tasks }] of rooms.entries()) {
    const runs = new Map<Version, Run[]>()
    for (let repeat = 0; repeat < repeats; repeat++) {
      // Alternate which goes first: a noisy machine's drift falls on all alike.
      const order: Version[] = (i + repeat) % 2 === 0 ? ['before', 'after, per node', 'after, shared'] : ['after, shared', 'after, per node', 'before']
      for (const version of order) runs.set(version, [...(runs.get(version) ?? []), await measure(version, nodes, tasks)])
    }
    const before = median((runs.get('before') ?? []).map((run) => perDeliveryOf(run, nodes)))
    for (const version of ['before', 'after, shared', 'after, per node'] as const) {
      const all = runs.get(version) ?? []
      const run = all[0]
      if (!run) continue
      const costs = all.map((each) => perDeliveryOf(each, nodes))
      const perDelivery = median(costs)
      const deliveries = run.operations * (nodes - 1)
      const bidders = run.bidders ?? []
      rows.push([
        String(nodes),
        String(tasks),
        version,
        String(run.operations),
        fmt(median(all.map((each) => each.wallMs)) / 1000, 1),
        fmt(perDelivery, 1),
        `${fmt(Math.min(...costs), 1)}–${fmt(Math.max(...costs), 1)}`,
        fmt(perDelivery / before, 2),
        run.checks === null ? '–' : String(run.checks),
        run.checks === null ? '–' : fmt(run.checks / deliveries, 3),
        bidders.length ? `${fmt(median(bidders), 0)} / ${Math.max(...bidders)}` : '–',
      ])
      if (version === 'after, per node') kinds.push([String(nodes), ...[...run.byKind].filter(([, count]) => count > 0).map(([kind, count]) => `${kind} ${count}`)])
    }
  }
  table(
    `perf-delivery: wall µs per market delivery in the in-process simulation (simulateMarket, no faults, seed ${seed}, before = ${perfBeforeRef})`,
    ['nodes', 'tasks', 'market', 'operations', 'wall s p50', 'µs / delivery p50', 'min–max', '÷ before', 'signatures checked', 'checks / delivery', 'bids per task p50 / max'],
    rows,
  )
  console.log(
    [
      `delivery = one node's update (one operation: its writes of one virtual instant, merged) applied at one other node's doc: operations × (nodes − 1). µs / delivery = the run's whole wall time (all nodes share one Node thread; it includes the end-of-run checks, not making the nodes' keys, which are made before the run) ÷ deliveries. Each version ran ${repeats} times per room, interleaved; p50 and min–max are over those runs (operations, checks and bids are the first run's: a seed gives the same run each time).`,
      `before: the ${perfBeforeRef} tree's own simulation and market, on its own node_modules (Yjs and lib0 as published, y-webrtc as it patched it), whose verdict cache is process-wide: its ${rooms.at(-1)?.nodes ?? 0} nodes share one, so each signature is checked once for the whole room (its checks cannot be counted here).`,
      `after, per node: this tree, each node with its own verdict cache, as a tab has: every node pays its own checks (the honest figure). after, shared: this tree with one cache for the room, measured as before was.`,
      `Signature checks per node are what each node pays; the rest is Yjs applying updates, the nodes' observers and the simulation. Bids per task: valid bids in the poster's doc when the task was done (waves of config.maxBidders).`,
      `Signatures checked per kind (after, per node): ${kinds.map(([nodes, ...counts]) => `${nodes} nodes: ${counts.join(', ')}`).join('; ')}.`,
      `(perf-delivery took ${fmt((performance.now() - startedMs) / 1000, 0)} s)`,
    ].join('\n'),
  )
}

// What the trust work costs the market, measured side by side in one run: the market as it was
// before every field was signed (a git worktree of BENCH_BEFORE_REF, loaded into this process)
// against this tree's, on the same in-process room, in alternating rounds.
import { MarketNode } from '../../src/market'
import { signatureChecks } from '../../src/market/signing'
import { marketAt, simulateAt, worktreeOf } from './before-tree'
import { inProcessLatency } from './market-inproc'
import type { MarketClass } from './market-room'
import { fmt, median, percentile, table } from './stats'

/** The last commit before the market's records were signed by their writers. */
const beforeRef = process.env.BENCH_BEFORE_REF ?? '5567a6f'
const rounds = 3
const tasksPerRound = 12
const workers = 4
const maxTokens = 32

export async function benchTrustCost(): Promise<void> {
  const dir = worktreeOf(beforeRef)
  const Before = await marketAt(dir)
  const versions: [[string, MarketClass, string], [string, MarketClass, string]] = [
    [`before (${beforeRef})`, Before, dir],
    ['after (this tree)', MarketNode, process.cwd()],
  ]
  const latency = new Map<string, { award: number[]; first: number[] }>()
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first: a noisy machine's drift falls on both alike.
    const order = round % 2 === 0 ? versions : [...versions].reverse()
    for (const [label, Market] of order) {
      const figures = await inProcessLatency(workers, tasksPerRound, maxTokens, Market)
      const kept = latency.get(label) ?? { award: [], first: [] }
      kept.award.push(...figures.awardMs)
      kept.first.push(...figures.firstTokenMs)
      latency.set(label, kept)
    }
  }
  const base = latency.get(versions[0][0]) ?? { award: [], first: [] }
  table(
    `What the signatures cost: post → award and post → first token, poster + ${workers} workers in process, ${rounds} × ${tasksPerRound} tasks each, alternating`,
    ['market', 'award p50 ms', 'award p95 ms', 'first token p50 ms', 'first token p95 ms', 'first token p50 ÷ before'],
    [...latency].map(([label, { award, first }]) => [
      label,
      fmt(median(award), 1),
      fmt(percentile(award, 95), 1),
      fmt(median(first), 1),
      fmt(percentile(first, 95), 1),
      fmt(median(first) / median(base.first), 2),
    ]),
  )

  const rows: string[][] = []
  for (const nodes of [10, 100]) {
    for (const [label, , root] of versions) {
      const checksBefore = signatureChecks()
      const run = await simulateAt(root, nodes, 5, 7)
      const checks = root === process.cwd() ? String(signatureChecks() - checksBefore) : '–'
      rows.push([`${nodes} nodes, 5 tasks`, label, String(run.operations), fmt(run.wallMs, 0), fmt((run.wallMs * 1000) / run.operations / nodes, 1), checks])
    }
  }
  table(
    'Market simulation, fault-free, same seed (virtual time): wall time per delivery (an update reaching one node)',
    ['room', 'market', 'operations', 'wall ms', 'µs per delivery', 'signatures checked'],
    rows,
  )
}

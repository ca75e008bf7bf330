import * as Y from 'yjs'
import { maxDefaultDeadlineMs } from '../../../src/market/estimate'
import type { LogEntry } from '../../../src/market/schema'
import { answerOf } from './engine'
import { injected, type Behaviour } from './hostile'
import type { DeliveryFigures } from './deliveries'
import type { Contribution } from '../../../src/market/ledger'
import type { MarketNode } from '../../../src/market/node'
import { MarketSim, type SimOptions } from './sim'

/** No honest node's reputation, as any honest node sees it, may fall under this. */
export const honestReputationFloor = 0.5

export interface ScenarioReport {
  problems: string[]
  /** A digest of the final docs and counts: the same seed must give the same one. */
  fingerprint: string
  tasksChecked: number
  virtualMs: number
  updates: number
  /** What the hostile members did, summed: a hostile run must have attacked. */
  attacks: Map<Behaviour, number>
  /** How the updates the nodes wrote reached the others: delivery times and hops. */
  deliveries: DeliveryFigures
  /** Messages the links carried (a partial mesh floods: each doc sends on what it applies). */
  messages: number
  /** Tasks whose poster was gone for good at the end: only their signed expiry removed them. */
  orphaned: number
  /** Tasks a peer ran for another, as the first live node's ledger counts them. */
  ledgerTasks: number
  /** Valid bids per finished task, in its poster's doc when it was done. */
  bidders: number[]
}

/** JSON with object keys sorted: a Y.Map lists keys in arrival order, which differs by node. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner,
  )
}

/** Schedules posts, crashes (with restarts) and partitions (that heal) from the seed. */
function schedule(sim: MarketSim, periodMs: number): void {
  const { random, nodes, sched } = sim
  for (let k = 0; k < sim.options.tasks; k++) sim.post(Math.floor(random() * periodMs), Math.floor(random() * nodes.length))
  if (!sim.options.faults) return
  const crashes = 1 + Math.floor(random() * Math.max(2, nodes.length / 3))
  for (let k = 0; k < crashes; k++) {
    const node = nodes[Math.floor(random() * nodes.length)]
    const at = Math.floor(random() * periodMs)
    const downMs = 200 + Math.floor(random() * 5_000)
    const stayDown = random() < 0.15 && node?.index !== 0
    if (!node) continue
    sched.at(at, -2, () => {
      if (!node.market) return
      const generation = node.generation + 1
      sim.crash(node)
      if (!stayDown) sched.at(at + downMs, -2, () => node.generation === generation && !node.market && sim.start(node))
    })
  }
  let at = Math.floor(random() * periodMs * 0.3)
  while (at < periodMs) {
    const group = nodes.map(() => (random() < 0.5 ? 0 : 1))
    const lastsMs = 300 + Math.floor(random() * 6_000)
    sched.at(at, -3, () => sim.net.partition(group))
    sched.at(at + lastsMs, -3, () => sim.net.partition(null))
    at += lastsMs + Math.floor(random() * 4_000)
  }
}

/** One seeded run: builds, runs to quiescence, and lists what broke. */
export async function runScenario(options: SimOptions): Promise<ScenarioReport> {
  const sim = new MarketSim(options)
  await sim.init()
  const periodMs = Math.max(2_000, options.tasks * 250)
  schedule(sim, periodMs)
  const limitMs = periodMs + 20 * 60_000
  await sim.run(limitMs)
  const problems: string[] = []
  if (sim.sched.live > 0) problems.push(`not quiescent after ${limitMs} virtual ms`)
  for (const error of sim.errors) problems.push(`onError: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
  const up = sim.nodes.filter((node) => node.market || node.hostile)
  const docs = up.map((node) => sim.net.docs[node.index]).filter((doc): doc is Y.Doc => doc !== null)
  problems.push(...hostileProblems(sim))
  const log = docs[0]?.getArray<LogEntry>('log').toArray() ?? []
  let tasksChecked = 0
  let orphaned = 0
  for (const { taskId, poster } of sim.posted) {
    const accepted = sim.accepted.get(taskId) ?? 0
    if (accepted > 1) problems.push(`${taskId}: accepted ${accepted} times`)
    if (!sim.nodes[poster]?.market) {
      orphaned++
      continue
    }
    tasksChecked++
    if (accepted !== 1) problems.push(`${taskId}: accepted ${accepted} times (poster ${poster} is up)`)
    const failed = sim.failed.get(taskId)
    if (failed) problems.push(`${taskId}: failed: ${failed}`)
    const entries = log.filter((entry) => entry.taskId === taskId)
    if (entries.length !== 1 || entries[0]?.status !== 'done') problems.push(`${taskId}: log has ${JSON.stringify(entries)}`)
  }
  // Every task ends up removed: by its poster after `retainMs`, or, when its poster is gone for
  // good (or hostile), by any node once its signed expiry (or the lifetime cap) has passed.
  for (const [index, doc] of docs.entries()) {
    const left = [...doc.getMap('tasks').keys()]
    if (left.length > 0) problems.push(`node ${up[index]?.index} still holds ${left.length} tasks at the end: ${left.slice(0, 3).join(', ')}`)
  }
  problems.push(...(await ledgerProblems(sim)))
  const states = docs.map((doc) => canonical([doc.getMap('tasks').toJSON(), doc.getArray('log').toJSON(), doc.getArray('ballots').toJSON(), doc.getMap('ledger').toJSON()]))
  const diverged = states.findIndex((state) => state !== states[0])
  if (diverged > 0) problems.push(`docs diverge: node ${up[0]?.index} and node ${up[diverged]?.index}`)
  const fingerprint = `${sim.sched.now}/${sim.net.updatesSent}/${states[0]?.length ?? 0}/${[...sim.accepted.keys()].sort().join(',')}`
  const attacks = new Map<Behaviour, number>()
  for (const node of sim.nodes) for (const [behaviour, count] of node.hostile?.done ?? []) attacks.set(behaviour, (attacks.get(behaviour) ?? 0) + count)
  for (const node of sim.nodes) node.hostile?.stop()
  const deliveries = sim.net.deliveries.figures(sim.nodes.length - 1)
  const ledger = sim.nodes.find((node) => node.market)?.market?.ledgerTotals() ?? new Map<string, Contribution>()
  const ledgerTasks = [...ledger.values()].reduce((sum, { tasksServed }) => sum + tasksServed, 0)
  return {
    problems,
    fingerprint,
    tasksChecked,
    virtualMs: sim.sched.now,
    updates: sim.net.updatesSent,
    attacks,
    deliveries,
    messages: sim.net.messagesSent,
    orphaned,
    ledgerTasks,
    bidders: sim.bidders,
  }
}

/**
 * What an honest user must never see, whoever else is in the room: an answer an honest
 * executor did not sign, text it did not write, a task that never ends, an honest node's
 * reputation dragged down, an honest engine spent on an award it never asked for.
 */
function hostileProblems(sim: MarketSim): string[] {
  const problems: string[] = []
  const honest = new Set(sim.honestIds())
  for (const { taskId } of sim.posted) {
    const consumed = sim.consumed.get(taskId)
    const result = sim.results.get(taskId)
    if (!consumed) continue
    const answer = answerOf(consumed.request).join(' ')
    if (result) {
      if (!honest.has(result.executor)) problems.push(`${taskId}: answer signed by ${result.executor}, not an honest executor`)
      if (result.text !== answer) problems.push(`${taskId}: answer ${JSON.stringify(result.text.slice(0, 60))} is not the honest one`)
    }
    let shown = ''
    for (const event of consumed.events) {
      if (event.type === 'text' && !honest.has(event.executor)) problems.push(`${taskId}: text from ${event.executor}, not an honest executor`)
      if (event.type === 'restart') shown = ''
      else shown += event.text
      if (!answer.startsWith(shown)) problems.push(`${taskId}: the consumer was shown ${JSON.stringify(shown.slice(0, 60))}, which no honest executor wrote`)
      if (event.type === 'text' && event.text.includes(injected)) problems.push(`${taskId}: injected text reached the consumer`)
    }
    const stillThere = consumed.poster.generation === consumed.generation
    if (stillThere && consumed.endedAt === null) problems.push(`${taskId}: its consumer never saw the task end`)
    if (stillThere && result && shown !== result.text) problems.push(`${taskId}: the consumer ended with ${JSON.stringify(shown.slice(0, 60))}, not the signed answer`)
    if (consumed.endedAt !== null && consumed.endedAt - consumed.postedAt > maxDefaultDeadlineMs + 30_000)
      problems.push(`${taskId}: ended ${consumed.endedAt - consumed.postedAt} virtual ms after it was posted`)
    // A crashed poster's market is destroyed and tells its (left behind) consumer so; nobody else hears that.
    const expected = ['TaskFailedError', 'TaskDeletedError', ...(stillThere ? [] : ['MarketClosedError'])]
    if (consumed.error && !expected.includes(consumed.error.name)) problems.push(`${taskId}: failed with ${consumed.error.name}: ${consumed.error.message}`)
  }
  for (const node of sim.nodes) {
    if (!node.market) continue
    for (const nodeId of honest) {
      const reputation = node.market.reputation(nodeId)
      if (reputation < honestReputationFloor) problems.push(`node ${node.index} gives honest ${nodeId} reputation ${reputation.toFixed(2)}`)
    }
  }
  const unsolicited = sim.ran.filter((content) => content === 'unsolicited work').length
  if (unsolicited > 0) problems.push(`honest engines ran ${unsolicited} awards nobody bid for`)
  return problems
}

/**
 * The contribution ledger: every live node derives the same totals from the doc; in a run
 * without faults or hostile members they are exactly the signed usage of the tasks peers ran
 * for each other (a crash can lose a receipt its poster had not written yet).
 */
async function ledgerProblems(sim: MarketSim): Promise<string[]> {
  const problems: string[] = []
  const markets = sim.nodes.flatMap((node) => (node.market ? [{ index: node.index, market: node.market }] : [])).slice(0, sim.options.ledgerReaders)
  // A read has a node check the receipts it had no part in; the totals are whole once those checks end.
  for (const { market } of markets) market.ledgerTotals()
  await sim.settle()
  const totalsOf = (market: MarketNode): string => canonical(Object.fromEntries([...market.ledgerTotals()].sort(([a], [b]) => (a < b ? -1 : 1))))
  const first = markets[0]
  for (const { index, market } of markets.slice(1)) if (first && totalsOf(market) !== totalsOf(first.market)) problems.push(`ledger: node ${index} and node ${first.index} count different totals`)
  if (sim.options.faults || (sim.options.hostile ?? 0) > 0 || !first) return problems
  const expected = new Map<string, Contribution>()
  const add = (nodeId: string, change: Partial<Contribution>): void => {
    const now = expected.get(nodeId) ?? { served: 0, consumed: 0, tasksServed: 0, tasksConsumed: 0 }
    expected.set(nodeId, {
      served: now.served + (change.served ?? 0),
      consumed: now.consumed + (change.consumed ?? 0),
      tasksServed: now.tasksServed + (change.tasksServed ?? 0),
      tasksConsumed: now.tasksConsumed + (change.tasksConsumed ?? 0),
    })
  }
  for (const { taskId, poster } of sim.posted) {
    const result = sim.results.get(taskId)
    const posterId = sim.nodes[poster]?.signer.nodeId
    if (!result || !posterId || result.executor === posterId) continue
    const tokens = result.usage?.total_tokens ?? 0
    add(result.executor, { served: tokens, tasksServed: 1 })
    add(posterId, { consumed: tokens, tasksConsumed: 1 })
  }
  const want = canonical(Object.fromEntries([...expected].sort(([a], [b]) => (a < b ? -1 : 1))))
  if (totalsOf(first.market) !== want) problems.push(`ledger: node ${first.index} counts ${totalsOf(first.market).slice(0, 200)}, the signed results say ${want.slice(0, 200)}`)
  return problems
}

/** In the benchmark, the nodes that read the ledger at the end (as tabs with the swarm view drawn): they pay its checks. */
const benchLedgerReaders = 8

/**
 * For the benchmark: a fault-free market of `nodes` nodes running `tasks` tasks. Operations
 * are the doc updates the markets wrote (specs, bids, awards, leases, batches, results).
 */
export async function simulateMarket(options: {
  nodes: number
  tasks: number
  seed: number
  verdicts?: 'node' | 'shared'
}): Promise<{ operations: number; virtualMs: number; wallMs: number; bidders: number[] }> {
  const started = performance.now()
  const report = await runScenario({ nodes: options.nodes, tasks: options.tasks, seed: options.seed, faults: false, verdicts: options.verdicts ?? 'node', ledgerReaders: benchLedgerReaders })
  if (report.problems.length > 0) throw new Error(`market simulation failed (seed ${options.seed}): ${report.problems.slice(0, 3).join('; ')}`)
  return { operations: report.updates, virtualMs: report.virtualMs, wallMs: performance.now() - started, bidders: report.bidders }
}

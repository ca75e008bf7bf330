// The figures of "The swarm works as one": how fast the market awards a task and streams its
// first token, how it scales in nodes, how fast a task resumes when its executor dies, and what
// a task costs in doc traffic and doc size.
import { cpus } from 'node:os'
import { chromium, type Browser } from '@playwright/test'
import { simulateMarket } from '../unit/market-sim/scenario'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { freshRoom } from '../e2e/support/nodes'
import {
  addWorkers as addWorkersTo,
  openAppNode,
  timeFailover,
  timeTaskInPage,
  waitForReadyWorkers,
  type AppTab,
  type ExecutorLoss,
  type FailoverTiming,
  type PageTaskTiming,
  workerSpeeds,
} from './market-browser'
import { decodeTokensPerS, docGrowth, inProcessLatency, linkDelayMs, taskTraffic, type TaskLatencies } from './market-inproc'
import { startRelay } from './relay-process'
import { fmt, median, percentile, table, runSection } from './stats'

const workerCounts = [2, 4, 8]
const tasksPerSetting = 20
const maxTokens = 32
const failoverWorkers = 3
const failoverRepetitions = 3
const failoverMaxTokens = 1200
const failoverLosses: ExecutorLoss[] = ['closed', 'frozen']
const simRuns: { nodes: number; tasks: number }[] = [
  { nodes: 10, tasks: 5 },
  { nodes: 100, tasks: 5 },
  { nodes: 1000, tasks: 5 },
  { nodes: 100, tasks: 20 },
]
const trafficTokens = [32, 256, 1024]
/** An executor renews its lease for up to five lease periods (15 s) after its result, until it sees done: counted apart. */
const trafficTailMs = 16_000
const growth = { rounds: 3, perRound: 30, retainMs: 1_000, maxLog: 20 }

interface BrowserFigures {
  latency: Map<number, PageTaskTiming[]>
  /** Decode tok/s each worker showed in its presence after the last latency run. */
  speeds: number[]
  failover: FailoverTiming[]
}

const section = (name: string, run: () => Promise<void>): Promise<void> => runSection('market', name, run)

const p50p95 = (values: number[]): [string, string] => [fmt(median(values), 0), fmt(percentile(values, 95), 0)]

/** Poster + 2, then 4, then 8 workers in one room; then down to 3 workers for the failover. */
async function browserParts(browser: Browser, figures: BrowserFigures): Promise<void> {
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: 'test/fixtures', RELAY_MAX_CONN_PER_IP: '1000' })
  const tabs: AppTab[] = []
  try {
    const ref = freshRoom('bench-market')
    const poster = await openAppNode(browser, relay, ref, false)
    tabs.push(poster)
    const workers: AppTab[] = []
    const addWorkers = (count: number): Promise<void> => addWorkersTo(browser, relay, ref, poster.page, tabs, workers, count)
    await section('post → award / first token in the browser', async () => {
      for (const count of workerCounts) {
        await addWorkers(count - workers.length)
        const timings: PageTaskTiming[] = []
        // One warm-up task per setting, not counted.
        for (let i = 0; i <= tasksPerSetting; i++) {
          const timing = await timeTaskInPage(poster.page, `Question ${count}.${i}: in one sentence, what does a swarm do?`, maxTokens)
          if (i > 0) timings.push(timing)
        }
        figures.latency.set(count, timings)
      }
      figures.speeds = await workerSpeeds(poster.page)
    })
    await section('failover in the browser', async () => {
      for (const extra of workers.splice(failoverWorkers)) await extra.close()
      if (workers.length < failoverWorkers) await addWorkers(failoverWorkers - workers.length)
      else
        await waitForReadyWorkers(
          poster.page,
          workers.map((worker) => worker.nodeId),
        )
      const losses = failoverLosses.flatMap((loss) => Array.from({ length: failoverRepetitions }, () => loss))
      for (const [rep, loss] of losses.entries()) {
        const { lost, timing } = await timeFailover(poster.page, workers, failoverMaxTokens, loss)
        figures.failover.push(timing)
        workers.splice(workers.indexOf(lost), 1)
        if (rep + 1 < losses.length) await addWorkers(1)
      }
    })
  } finally {
    await Promise.all(tabs.map((tab) => tab.close().catch(() => undefined)))
    await relay.stop()
  }
}

function printLatency(browserFigures: BrowserFigures, inProcess: Map<number, TaskLatencies>): void {
  table(
    `Post → award and post → first token (${tasksPerSetting} tasks one after the other, max_tokens ${maxTokens}, ms)`,
    ['workers', 'award p50', 'award p95', 'award in-proc p50', 'p95', 'first token p50', 'first token p95', 'first token in-proc p50', 'p95', 'executors used'],
    workerCounts.map((count) => {
      const page = browserFigures.latency.get(count) ?? []
      const proc = inProcess.get(count) ?? { awardMs: [], firstTokenMs: [] }
      const pageAwards = page.flatMap((timing) => (timing.awardMs === null ? [] : [timing.awardMs]))
      const pageFirst = page.flatMap((timing) => (timing.firstTokenMs === null ? [] : [timing.firstTokenMs]))
      return [
        String(count),
        ...p50p95(pageAwards),
        ...p50p95(proc.awardMs),
        ...p50p95(pageFirst),
        ...p50p95(proc.firstTokenMs),
        page.length ? String(new Set(page.map((timing) => timing.executor)).size) : 'n/a',
      ]
    }),
  )
  const tokens = [...browserFigures.latency.values()].flat().map((timing) => timing.completionTokens)
  const speeds = browserFigures.speeds.length ? browserFigures.speeds.join(', ') : 'n/a'
  console.log(
    [
      `browser: one Chromium, poster (engine=none) + N workers (wasm, tiny-qwen3.gguf), each its own context, over WebRTC through a local relay; timed in the poster page.`,
      `award = submit → the task view's row shows the executor (its DOM is rendered on the next animation frame, so up to ~17 ms late); first token = submit → first 'text' event.`,
      `in-proc: the same MarketNodes in Node on real timers, docs linked directly with ${linkDelayMs} ms one way, a paced engine at ${decodeTokensPerS} tok/s; award = the poster's doc holds the signed award. Tokens per browser answer: ${tokens.length ? `${Math.min(...tokens)}–${Math.max(...tokens)}` : 'n/a'}.`,
      `executors used: distinct executors of the 20 browser tasks. Decode tok/s the workers' presence showed after the 8-worker run: ${speeds} (0 = never ran, so it bids with the 5 tok/s fallback and loses to any peer that has run).`,
    ].join('\n'),
  )
}

function printFailover(timings: FailoverTiming[]): void {
  const rows: string[][] = []
  for (const loss of failoverLosses) {
    const runs = timings.filter((timing) => timing.loss === loss)
    if (runs.length === 0) continue
    const restart = runs.map((timing) => timing.restartMs)
    const resumed = runs.map((timing) => timing.resumedMs)
    const reasons = [...new Set(runs.map((timing) => timing.reason))].join(', ')
    rows.push([loss, String(runs.length), fmt(median(restart), 0), fmt(Math.max(...restart), 0), fmt(median(resumed), 0), fmt(Math.max(...resumed), 0), reasons])
  }
  table(
    `Executor lost → task resumed (browser: poster + ${failoverWorkers} workers, max_tokens ${failoverMaxTokens}, executor lost at the first text event, ms)`,
    ['executor', 'runs', 'restart p50', 'restart max', 'new first text p50', 'new first text max', 'poster’s reason'],
    rows,
  )
  console.log(
    `closed = its context closed (a closed tab); frozen = its page paused in the debugger (a hung tab: connections stay open, no lease renewal, no heartbeat). restart = loss → 'restart' event in the poster; new first text = loss → first text of the new executor. Target < 5000, aim < 2000. Every run: ${timings.map((timing) => `${timing.loss} ${fmt(timing.restartMs, 0)}/${fmt(timing.resumedMs, 0)}`).join(', ')}.`,
  )
}

async function simSection(): Promise<void> {
  const rows: string[][] = []
  for (const run of simRuns) {
    const result = await simulateMarket({ ...run, seed: 1 })
    const deliveries = result.operations * (run.nodes - 1)
    rows.push([
      String(run.nodes),
      String(run.tasks),
      String(result.operations),
      fmt(result.operations / run.tasks, 1),
      fmt(result.virtualMs / 1000, 1),
      fmt(result.wallMs / 1000, 1),
      fmt(result.operations / (result.wallMs / 1000), 1),
      fmt(deliveries / (result.wallMs / 1000), 0),
      fmt(result.wallMs / run.tasks, 0),
      fmt((result.wallMs * 1000) / deliveries, 0),
    ])
  }
  table(
    'Market operations in the in-process simulation (simulateMarket: no faults, 10–30 ms links, seed 1)',
    ['nodes', 'tasks', 'operations', 'ops / task', 'virtual s', 'wall s', 'ops / wall s', 'deliveries / wall s', 'wall ms / task', 'wall µs / delivery'],
    rows,
  )
  console.log(
    `operation = one node's writes in one virtual instant (a spec, a bid, an award, a lease renewal, an output batch, a result, a status), merged into one Yjs update and broadcast; a delivery = that update applied to one other node's doc (operations × (nodes − 1)). All nodes share this one Node thread, so wall time per delivery is what each node would pay per market operation. Wall time includes creating the nodes (1000 Ed25519 keys ≈ 1 s).`,
  )
}

async function trafficSection(): Promise<void> {
  const results = await Promise.all(trafficTokens.map((tokens, i) => taskTraffic(tokens, i === 0 ? trafficTailMs : 0)))
  const rows = results.map((result) => [
    String(result.outputTokens),
    String(result.textChars),
    String(result.updates),
    String(result.bytes),
    fmt(result.bytes / result.outputTokens, 1),
    fmt(result.bytes / result.textChars, 2),
  ])
  table(
    `Doc traffic of one task, post → done (poster + 3 workers in process, ${decodeTokensPerS} tok/s, output batched every 100 ms)`,
    ['output tokens', 'answer chars', 'updates broadcast', 'bytes', 'bytes / token', 'bytes / answer char'],
    rows,
  )
  const tail = results[0]?.tail
  console.log(
    `bytes = the Yjs updates the four docs emitted, each counted once (on y-webrtc's mesh each goes to every peer, plus sync framing and AES-GCM). The answer crosses the doc twice: in the 100 ms output batches and again in the signed result. Runs side by side, one room each.` +
      (tail ? ` In the ${tail.ms / 1000} s after done, the ${results[0]?.outputTokens ?? 0}-token task's room wrote ${tail.updates} more updates (${tail.bytes} bytes).` : ''),
  )
}

async function growthSection(): Promise<void> {
  const points = await docGrowth(growth.rounds, growth.perRound, growth.retainMs, growth.maxLog)
  table(
    `Doc size as tasks come and go (rounds of ${growth.perRound} tasks posted at once, poster + 3 workers, retainMs ${growth.retainMs}, maxLog ${growth.maxLog})`,
    ['moment', 'tasks posted', 'tasks in doc', 'log entries', 'encodeStateAsUpdate bytes'],
    points.map((point) => [point.label, String(point.tasksPosted), String(point.tasksInDoc), String(point.logEntries), String(point.stateBytes)]),
  )
  const removed = points.filter((point) => point.tasksInDoc === 0)
  const first = removed[0]
  const last = removed.at(-1)
  if (first && last && last !== first) {
    console.log(
      `after each round's tasks are removed the state grows by ${fmt((last.stateBytes - first.stateBytes) / (last.tasksPosted - first.tasksPosted), 1)} bytes per task: Yjs keeps each removed task's key in the top-level tasks map (the task id) and each dropped log item as tombstones; what was inside a task collapses to a GC range.`,
    )
  }
}

/** Prints the market tables; each part that fails prints its error and leaves the others. */
export async function benchMarket(): Promise<void> {
  const startedMs = performance.now()
  console.log(`\n# market bench — ${cpus().length} cores`)
  const browserFigures: BrowserFigures = { latency: new Map(), speeds: [], failover: [] }
  await section('browser', async () => {
    const browser = await chromium.launch(chromiumLaunchOptions())
    try {
      await browserParts(browser, browserFigures)
    } finally {
      await browser.close()
    }
  })
  const inProcess = new Map<number, TaskLatencies>()
  await section('in-process latency', async () => {
    for (const count of workerCounts) inProcess.set(count, await inProcessLatency(count, tasksPerSetting, maxTokens))
  })
  printLatency(browserFigures, inProcess)
  if (browserFigures.failover.length > 0) printFailover(browserFigures.failover)
  await section('simulation', simSection)
  await section('traffic', trafficSection)
  await section('growth', growthSection)
  console.log(`\n(market bench took ${fmt((performance.now() - startedMs) / 1000, 0)} s)`)
}

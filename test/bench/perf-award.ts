// Issue 16 ("fast at room scale"): post → award at 2/4/8 workers, before and after (part 4).
// Run alone with `BENCH_SECTIONS=perf-award npm run bench`.
import path from 'node:path'
import { chromium, type Browser } from '@playwright/test'
import * as Y from 'yjs'
import { MarketNode } from '../../src/market'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { freshRoom } from '../e2e/support/nodes'
import { builtTreeOf, marketAt, perfBeforeRef, startRelayOf, worktreeOf } from './before-tree'
import { addWorkers, openAppNode, timeTaskInPage, type AppTab, type PageTaskTiming } from './market-browser'
import { decodeTokensPerS, linkDelayMs } from './market-inproc'
import { awardSeen, openBenchRoom, type BenchRoom, type MarketClass } from './market-room'
import { startRelay } from './relay-process'
import { fmt, median, percentile, runSection, table } from './stats'

const workerCounts = [2, 4, 8]
const inProcessTasks = 8
/** The rooms in process: every link alike, or one worker on a poor link (its bid comes late, and its presence says why). */
const scenarios = [
  { name: 'even links', slowLinks: new Map<number, number>() },
  { name: 'one at 150 ms', slowLinks: new Map([[1, 150]]) },
] as const
const browserTasks = 4
const maxTokens = 8
const awardTimeoutMs = 30_000

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const p50p95 = (values: number[]): [string, string] => [fmt(median(values), 0), fmt(percentile(values, 95), 0)]

/** One task in process: its two times, and what the award gave up against the best bid that came at all. */
interface InProcessTask {
  awardMs: number
  firstTokenMs: number
  /** Winner's estimate ÷ the lowest estimate among all the bids the task got, − 1 (0: the best bid won). */
  regret: number
}

type Variant = 'before' | 'after'

/** Bidder → estimate of the task's bids as the poster's doc holds them, and the awarded executor. */
function bidsAndWinner(doc: Y.Doc, taskId: string): { estimates: Map<string, number>; executor: string | null } {
  const task = doc.getMap<unknown>('tasks').get(taskId)
  const estimates = new Map<string, number>()
  if (!(task instanceof Y.Map)) return { estimates, executor: null }
  const bids: unknown = task.get('bids')
  if (bids instanceof Y.Map)
    for (const [bidder, bid] of bids.entries()) {
      const estimateMs = (bid as { estimateMs?: unknown } | null)?.estimateMs
      if (typeof estimateMs === 'number') estimates.set(bidder, estimateMs)
    }
  const award = task.get('award') as { executor?: unknown } | undefined
  return { estimates, executor: typeof award?.executor === 'string' ? award.executor : null }
}

/**
 * Posts one task, times post → award (the poster's doc holds it) and post → first text, and
 * once it is done (every bid long arrived) compares the winner's bid with the best. It runs to
 * its end: a bid that comes after the award is still read by the poster while the task runs,
 * as with any real answer (a task cut at its first token would hide slow bidders from it).
 */
async function oneTask(room: BenchRoom, label: string): Promise<InProcessTask> {
  const startedMs = performance.now()
  const handle = room.poster.submit({ messages: [{ role: 'user', content: `${label}: in one sentence, what does a swarm do?` }], max_tokens: maxTokens })
  const award = awardSeen(room.posterDoc, handle.id, startedMs, awardTimeoutMs)
  let firstTokenMs = Number.NaN
  for await (const event of handle.chunks) if (event.type === 'text' && Number.isNaN(firstTokenMs)) firstTokenMs = performance.now() - startedMs
  await handle.result
  const awardMs = await award
  const { estimates, executor } = bidsAndWinner(room.posterDoc, handle.id)
  const best = Math.min(...estimates.values())
  const won = executor === null ? undefined : estimates.get(executor)
  // Lets the executor see the close and free its slot before the next post.
  await pause(50)
  return { awardMs, firstTokenMs, regret: won === undefined ? Number.NaN : won / best - 1 }
}

/** The two markets side by side, one room each, their tasks alternating (a warm-up task each first, not counted). */
async function inProcess(workers: number, slowLinks: ReadonlyMap<number, number>, markets: Record<Variant, MarketClass>): Promise<Record<Variant, InProcessTask[]>> {
  const options = { workers, linkDelayMs, decodeTokensPerS, slowLinks }
  const rooms = { before: await openBenchRoom({ ...options, Market: markets.before }), after: await openBenchRoom({ ...options, Market: markets.after }) }
  const out: Record<Variant, InProcessTask[]> = { before: [], after: [] }
  try {
    for (let i = 0; i <= inProcessTasks; i++) {
      // Which goes first alternates too: the first of a pair meets a machine that just idled.
      for (const variant of i % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
        const task = await oneTask(rooms[variant], `Question ${workers}.${i}`)
        if (i > 0) out[variant].push(task)
      }
    }
    for (const [variant, room] of Object.entries(rooms)) if (room.errors.length > 0) throw new Error(`${variant} market reported ${room.errors.length} error(s): ${String(room.errors[0])}`)
    return out
  } finally {
    rooms.before.close()
    rooms.after.close()
  }
}

/** One app (the before tree's or this one's) behind its own relay: a poster and 2, then 4, then 8 workers. */
async function inBrowser(browser: Browser, variant: Variant, distDir: string): Promise<Map<number, PageTaskTiming[]>> {
  const env = { RELAY_MODELS_DIR: path.resolve('test/fixtures'), RELAY_MAX_CONN_PER_IP: '1000' }
  const relay = variant === 'before' ? await startRelayOf(distDir, env) : await startRelay({ RELAY_STATIC_DIR: 'dist', ...env })
  const tabs: AppTab[] = []
  const timings = new Map<number, PageTaskTiming[]>()
  try {
    const ref = freshRoom(`bench-award-${variant}`)
    const poster = await openAppNode(browser, relay, ref, false)
    tabs.push(poster)
    const workers: AppTab[] = []
    for (const count of workerCounts) {
      await addWorkers(browser, relay, ref, poster.page, tabs, workers, count - workers.length)
      const runs: PageTaskTiming[] = []
      for (let i = 0; i <= browserTasks; i++) {
        const timing = await timeTaskInPage(poster.page, `Question ${count}.${i}: in one sentence, what does a swarm do?`, maxTokens)
        if (i > 0) runs.push(timing)
      }
      timings.set(count, runs)
    }
    return timings
  } finally {
    await Promise.all(tabs.map((tab) => tab.close().catch(() => undefined)))
    await relay.stop()
  }
}

const section = (name: string, run: () => Promise<void>): Promise<void> => runSection('perf-award', name, run)

function printInProcess(figures: Map<string, Record<Variant, InProcessTask[]>>): void {
  const rows = scenarios.flatMap((scenario) =>
    workerCounts.flatMap((count) => {
      const pair = figures.get(`${scenario.name}/${count}`)
      if (!pair) return []
      const beforeAward = pair.before.map((task) => task.awardMs)
      const afterAward = pair.after.map((task) => task.awardMs)
      const worse = pair.after.filter((task) => task.regret > 0)
      return [
        [
          scenario.name,
          String(count),
          ...p50p95(beforeAward),
          ...p50p95(afterAward),
          fmt(median(afterAward) / median(beforeAward), 2),
          ...p50p95(pair.before.map((task) => task.firstTokenMs)),
          ...p50p95(pair.after.map((task) => task.firstTokenMs)),
          `${worse.length}/${pair.after.length}`,
          fmt(100 * Math.max(0, ...pair.after.map((task) => task.regret)), 1),
          `${pair.before.filter((task) => task.regret > 0).length}/${pair.before.length}`,
        ],
      ]
    }),
  )
  table(
    `perf-award in process: post → award and → first token, before (${perfBeforeRef}) and after, ${inProcessTasks} tasks each, alternating (ms)`,
    [
      'links',
      'workers',
      'award before p50',
      'p95',
      'award after p50',
      'p95',
      'after/before p50',
      'first token before p50',
      'p95',
      'first token after p50',
      'p95',
      'after: worse winner',
      'worst, %',
      'before: worse winner',
    ],
    rows,
  )
  console.log(
    [
      `Real MarketNodes of both trees in this process on real timers, docs linked directly with ${linkDelayMs} ms one way, identical workers (with 'one at 150 ms', worker 1's links are 150 ms one way, and its presence says so) (paced engine, ${decodeTokensPerS} tok/s, max_tokens ${maxTokens}), the default 300 ms bid window; award = the poster's doc holds the signed award, first token = the poster's first text event.`,
      `worse winner: tasks whose awarded bid was above the lowest bid the task got at all (read once the task was done, when every bid had long arrived; the before tree misses a bid that comes after its 300 ms window the same way); worst = by how much. Identical workers differ only by the executors' 5 % tie spread, so that is what an early award can give up here (the rule allows 10 %).`,
    ].join('\n'),
  )
}

function printBrowser(figures: Map<Variant, Map<number, PageTaskTiming[]>>): void {
  const pick = (variant: Variant, count: number, read: (timing: PageTaskTiming) => number | null): number[] =>
    (figures.get(variant)?.get(count) ?? []).flatMap((timing) => {
      const value = read(timing)
      return value === null ? [] : [value]
    })
  table(
    `perf-award in the browser: post → award and → first token, before (${perfBeforeRef}) and after, ${browserTasks} tasks each (ms)`,
    ['workers', 'award before p50', 'p95', 'award after p50', 'p95', 'first token before p50', 'p95', 'first token after p50', 'p95', 'executors used before', 'after'],
    workerCounts.map((count) => [
      String(count),
      ...p50p95(pick('before', count, (timing) => timing.awardMs)),
      ...p50p95(pick('after', count, (timing) => timing.awardMs)),
      ...p50p95(pick('before', count, (timing) => timing.firstTokenMs)),
      ...p50p95(pick('after', count, (timing) => timing.firstTokenMs)),
      String(new Set((figures.get('before')?.get(count) ?? []).map((timing) => timing.executor)).size),
      String(new Set((figures.get('after')?.get(count) ?? []).map((timing) => timing.executor)).size),
    ]),
  )
  console.log(
    `One Chromium, poster (engine=none) + N workers (wasm, tiny-qwen3.gguf), each its own context, over WebRTC through each tree's own relay serving its own build; the before app first, then this one (their tabs cannot share a room). award = submit → the poster's task view shows the executor (next animation frame, up to ~17 ms late); first token = submit → first 'text' event; a warm-up task per setting not counted.`,
  )
}

export async function benchPerfAward(): Promise<void> {
  const startedMs = performance.now()
  console.log(`\n# perf-award — post → award, before (${perfBeforeRef}) and after`)
  const before = await marketAt(worktreeOf(perfBeforeRef))
  const inProcessFigures = new Map<string, Record<Variant, InProcessTask[]>>()
  await section('in process', async () => {
    for (const scenario of scenarios) for (const count of workerCounts) inProcessFigures.set(`${scenario.name}/${count}`, await inProcess(count, scenario.slowLinks, { before, after: MarketNode }))
  })
  printInProcess(inProcessFigures)
  console.log(`(in process: ${fmt((performance.now() - startedMs) / 1000, 0)} s)`)
  if (process.env.BENCH_AWARD_BROWSER === '0') return console.log('(browser part skipped: BENCH_AWARD_BROWSER=0)')
  const browserFigures = new Map<Variant, Map<number, PageTaskTiming[]>>()
  await section('browser', async () => {
    const beforeDir = builtTreeOf(perfBeforeRef)
    const browser = await chromium.launch(chromiumLaunchOptions())
    try {
      for (const variant of ['before', 'after'] as const) browserFigures.set(variant, await inBrowser(browser, variant, beforeDir))
    } finally {
      await browser.close()
    }
  })
  printBrowser(browserFigures)
  console.log(`\n(perf-award took ${fmt((performance.now() - startedMs) / 1000, 0)} s)`)
}

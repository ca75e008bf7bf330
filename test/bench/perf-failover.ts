// Issue 16 ("fast at room scale"): failover for closed and frozen executors and false re-awards on a loaded machine, before and after (part 3).
// Run alone with `BENCH_SECTIONS=perf-failover npm run bench`.
import { spawn, type ChildProcess } from 'node:child_process'
import { cpus } from 'node:os'
import path from 'node:path'
import { chromium, type Browser, type Page } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { freshRoom } from '../e2e/support/nodes'
import { builtTreeOf, perfBeforeRef, startRelayOf } from './before-tree'
import { openAppNode, timeFailover, waitForReadyWorkers, type AppTab, type ExecutorLoss, type FailoverTiming } from './market-browser'
import { startRelay, type RelayProcess } from './relay-process'
import { fmt, median, table } from './stats'

const workersPerRoom = 3
/** Per tree, alternating with the other tree's runs: the frozen case is the one this part is about. */
const lossSchedule: ExecutorLoss[] = ['frozen', 'closed', 'frozen', 'frozen', 'closed']
const failoverMaxTokens = 1200
const loadedRounds = 2
const loadedTasks = 8
const loadedParallel = 2
const loadedMaxTokens = 300
/** The executor tabs' main thread is blocked this long every `busyEveryMs` during the loaded batch. */
const busyMs = 250
const busyEveryMs = 600

interface Tree {
  name: 'before' | 'after'
  relay: RelayProcess
  poster: AppTab
  workers: AppTab[]
  tabs: AppTab[]
  failover: FailoverTiming[]
  loaded: LoadedBatch[]
}

interface LoadedBatch {
  tasks: number
  done: number
  /** 'restart' events with no executor lost: each is a false re-award. */
  restarts: number
  /** Results whose epoch is over 1 (re-awarded at least once). */
  reAwarded: number
  reasons: string[]
  totalMs: number[]
}

/** Node processes that spin on every core for as long as they live: the loaded machine. */
function burnCpus(): ChildProcess[] {
  return cpus().map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
}

function stopBurners(burners: ChildProcess[]): void {
  for (const burner of burners) burner.kill('SIGKILL')
}

async function addWorker(browser: Browser, tree: Tree, ref: { room: string; key: string | null }): Promise<void> {
  const worker = await openAppNode(browser, tree.relay, ref, true)
  tree.tabs.push(worker)
  tree.workers.push(worker)
}

async function openTree(browser: Browser, name: Tree['name'], relay: RelayProcess): Promise<{ tree: Tree; ref: { room: string; key: string | null } }> {
  const ref = freshRoom(`perf-failover-${name}`)
  const poster = await openAppNode(browser, relay, ref, false)
  const tree: Tree = { name, relay, poster, workers: [], tabs: [poster], failover: [], loaded: [] }
  for (let i = 0; i < workersPerRoom; i++) await addWorker(browser, tree, ref)
  await waitForReadyWorkers(
    poster.page,
    tree.workers.map((worker) => worker.nodeId),
  )
  return { tree, ref }
}

/** Blocks each worker page's main thread `busyMs` out of every `busyEveryMs` until `stop` (a busy tab). */
async function busyWorkers(workers: AppTab[], on: boolean): Promise<void> {
  await Promise.all(
    workers.map((worker) =>
      worker.page.evaluate(
        ({ on, busyMs, busyEveryMs }) => {
          const slot = globalThis as typeof globalThis & { benchBusy?: ReturnType<typeof setInterval> }
          clearInterval(slot.benchBusy)
          if (!on) return
          slot.benchBusy = setInterval(() => {
            const end = performance.now() + busyMs
            while (performance.now() < end);
          }, busyEveryMs)
        },
        { on, busyMs, busyEveryMs },
      ),
    ),
  )
}

/** Posts `loadedTasks` tasks, `loadedParallel` at a time, and counts the restarts the poster saw; no executor is lost. */
function loadedBatch(poster: Page): Promise<LoadedBatch> {
  return poster.evaluate(
    async ({ tasks, parallel, maxTokens }) => {
      const api = globalThis.edgeswarm
      if (!api) throw new Error('edgeswarm API missing')
      const batch = { tasks, done: 0, restarts: 0, reAwarded: 0, reasons: [] as string[], totalMs: [] as number[] }
      for (let start = 0; start < tasks; start += parallel) {
        const wave = Array.from({ length: Math.min(parallel, tasks - start) }, (_, i) => {
          const startedMs = performance.now()
          const handle = api.tasks.submit({ messages: [{ role: 'user', content: `Loaded ${start + i}: tell me about bees.` }], max_tokens: maxTokens })
          return (async () => {
            try {
              for await (const event of handle.chunks)
                if (event.type === 'restart') {
                  batch.restarts++
                  batch.reasons.push(event.reason)
                }
              const result = await handle.result
              batch.done++
              if (result.epoch > 1) batch.reAwarded++
              batch.totalMs.push(performance.now() - startedMs)
            } catch (error) {
              batch.reasons.push(`failed: ${String(error)}`)
            }
          })()
        })
        await Promise.all(wave)
      }
      return batch
    },
    { tasks: loadedTasks, parallel: loadedParallel, maxTokens: loadedMaxTokens },
  )
}

function printFailover(trees: Tree[]): void {
  const rows: string[][] = []
  for (const loss of ['frozen', 'closed'] as const)
    for (const tree of trees) {
      const all = tree.failover.filter((timing) => timing.loss === loss)
      // A restart before the loss is a false alarm (the executor was replaced while alive), not a failover time.
      const runs = all.filter((timing) => timing.restartMs >= 0)
      const falseAlarms = all.length - runs.length
      if (runs.length === 0) continue
      const restart = runs.map((timing) => timing.restartMs)
      const resumed = runs.map((timing) => timing.resumedMs)
      rows.push([
        loss,
        tree.name,
        String(runs.length),
        String(falseAlarms),
        fmt(median(restart), 0),
        fmt(Math.max(...restart), 0),
        fmt(median(resumed), 0),
        fmt(Math.max(...resumed), 0),
        [...new Set(runs.map((timing) => timing.reason))].join(', '),
      ])
    }
  table(
    `Executor lost → task resumed, before (${perfBeforeRef}) and after (this tree), ms`,
    ['executor', 'tree', 'runs', 'restarts before the loss', 'restart p50', 'restart max', 'new first text p50', 'new first text max', 'poster’s reason'],
    rows,
  )
  console.log(
    `One Chromium, one room per tree (poster engine=none + ${workersPerRoom} workers wasm tiny-qwen3.gguf, each its own context, WebRTC through that tree's own relay); the trees' runs alternate. ` +
      `A long task (max_tokens ${failoverMaxTokens}); its executor is lost at the first text event: closed = its context closed, frozen = its page paused in the debugger (a hung tab: links stay up, no renewal, no heartbeat). ` +
      `restart = loss → the poster's 'restart' event; new first text = loss → first text of the new executor (poster page clock, Date.now()). ` +
      `Every run: ${trees.map((tree) => `${tree.name} ${tree.failover.map((timing) => `${timing.loss[0] ?? ''}${fmt(timing.restartMs, 0)}`).join(' ')}`).join('; ')}.`,
  )
}

function printLoaded(trees: Tree[], burners: number): void {
  const rows = trees.map((tree) => {
    const sum = (pick: (batch: LoadedBatch) => number): number => tree.loaded.reduce((total, batch) => total + pick(batch), 0)
    const reasons = [...new Set(tree.loaded.flatMap((batch) => batch.reasons))].join(', ') || '–'
    return [
      tree.name,
      String(sum((batch) => batch.tasks)),
      String(sum((batch) => batch.done)),
      String(sum((batch) => batch.restarts)),
      String(sum((batch) => batch.reAwarded)),
      fmt(median(tree.loaded.flatMap((batch) => batch.totalMs)), 0),
      reasons,
    ]
  })
  table('False re-awards on a loaded machine (no executor lost)', ['tree', 'tasks', 'done', 'restarts', 'results re-awarded', 'post → done p50 ms', 'reasons'], rows)
  console.log(
    `${loadedRounds} rounds per tree, alternating, each ${loadedTasks} tasks (max_tokens ${loadedMaxTokens}) ${loadedParallel} at a time on the rooms above, while ${burners} Node processes spin (one per core) and every executor tab's main thread is blocked ${busyMs} ms out of every ${busyEveryMs} ms. ` +
      `Any restart here is a false alarm: no executor was lost. No hidden tab: headless Chromium keeps every page visible, so the 1 s throttling of a background tab is not measured (a hidden executor keeps the full leaseMs window, as before).`,
  )
}

export async function benchPerfFailover(): Promise<void> {
  console.log('\n## perf-failover: a frozen executor replaced in under a second, without more false alarms')
  const beforeDir = builtTreeOf(perfBeforeRef)
  const env = { RELAY_MODELS_DIR: path.resolve('test/fixtures'), RELAY_MAX_CONN_PER_IP: '1000' }
  const relays: RelayProcess[] = []
  const browser = await chromium.launch(chromiumLaunchOptions())
  const trees: Tree[] = []
  let burners: ChildProcess[] = []
  try {
    relays.push(await startRelayOf(beforeDir, env), await startRelay({ RELAY_STATIC_DIR: 'dist', ...env }))
    const refs = new Map<Tree, { room: string; key: string | null }>()
    for (const [index, name] of (['before', 'after'] as const).entries()) {
      const { tree, ref } = await openTree(browser, name, relays[index] as RelayProcess)
      trees.push(tree)
      refs.set(tree, ref)
    }
    for (const [rep, loss] of lossSchedule.entries())
      for (const tree of rep % 2 === 0 ? trees : [...trees].reverse()) {
        const { lost, timing } = await timeFailover(tree.poster.page, tree.workers, failoverMaxTokens, loss)
        tree.failover.push(timing)
        tree.workers.splice(tree.workers.indexOf(lost), 1)
        await addWorker(browser, tree, refs.get(tree) ?? freshRoom('unused'))
        await waitForReadyWorkers(
          tree.poster.page,
          tree.workers.map((worker) => worker.nodeId),
        )
      }
    printFailover(trees)
    burners = burnCpus()
    for (const tree of trees) await busyWorkers(tree.workers, true)
    for (let round = 0; round < loadedRounds; round++) for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) tree.loaded.push(await loadedBatch(tree.poster.page))
    stopBurners(burners)
    printLoaded(trees, burners.length)
  } finally {
    stopBurners(burners)
    for (const tree of trees) await Promise.all(tree.tabs.map((tab) => tab.close().catch(() => undefined)))
    await browser.close()
    await Promise.all(relays.map((relay) => relay.stop()))
  }
}

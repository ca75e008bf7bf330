// The browser half of the market bench: real app tabs (one Chromium, one context per node), a
// poster with no engine and workers with the tiny WASM model, talking over WebRTC.
import type { Browser, BrowserContext, Page } from '@playwright/test'
import { appPath, readyAndAgreed, type RoomRef } from '../e2e/support/nodes'
import type { TaskHandle } from '../../src/market'
import type { RelayProcess } from './relay-process'

const tinyModel = '/models/tiny-qwen3.gguf'
const engineReadyTimeoutMs = 120_000
const peersTimeoutMs = 60_000

export interface AppTab {
  context: BrowserContext
  page: Page
  nodeId: string
  close(): Promise<void>
}

/** One node of the room in its own context (its own profile, OPFS and engine). */
export async function openAppNode(browser: Browser, relay: RelayProcess, ref: RoomRef, worker: boolean): Promise<AppTab> {
  const context = await browser.newContext({ baseURL: relay.url })
  try {
    const page = await context.newPage()
    const params: Record<string, string> = worker ? { engine: 'wasm', model: tinyModel } : { engine: 'none' }
    await page.goto(appPath(ref, params))
    // A worker's model downloads only once its user agreed: the bench presses Download as a user does.
    const nodeId = await readyAndAgreed(page, params)
    if (worker) {
      await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid=engine-view]')?.dataset.engineState === 'ready', undefined, {
        timeout: engineReadyTimeoutMs,
        polling: 100,
      })
    }
    return { context, page, nodeId, close: () => context.close() }
  } catch (error) {
    await context.close()
    throw error
  }
}

/** Waits until `poster` sees exactly these workers, each with its engine ready. */
/** Opens `count` more worker tabs in `ref` (kept in `tabs`, the room's every tab, and in `workers`) and waits until the poster sees all workers ready. */
export async function addWorkers(browser: Browser, relay: RelayProcess, ref: RoomRef, poster: Page, tabs: AppTab[], workers: AppTab[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const worker = await openAppNode(browser, relay, ref, true)
    tabs.push(worker)
    workers.push(worker)
  }
  await waitForReadyWorkers(
    poster,
    workers.map((worker) => worker.nodeId),
  )
}

export async function waitForReadyWorkers(poster: Page, workerIds: string[]): Promise<void> {
  await poster.waitForFunction(
    (ids) => {
      const ready = (globalThis.edgeswarm?.peers() ?? []).filter((peer) => peer.engine?.state === 'ready').map((peer) => peer.id)
      return ready.length === ids.length && ids.every((id) => ready.includes(id))
    },
    workerIds,
    { timeout: peersTimeoutMs, polling: 100 },
  )
}

export interface PageTaskTiming {
  /** Poster page: `submit` → the task view shows the award's executor (rendered on the next frame). */
  awardMs: number | null
  /** Poster page: `submit` → first 'text' event of the handle. */
  firstTokenMs: number | null
  totalMs: number
  executor: string
  completionTokens: number
}

/** Posts one task from the poster page and times it there, with the page's own clock. */
export function timeTaskInPage(poster: Page, content: string, maxTokens: number): Promise<PageTaskTiming> {
  return poster.evaluate(
    async ({ content, maxTokens }) => {
      const api = globalThis.edgeswarm
      if (!api) throw new Error('edgeswarm API missing')
      const list = document.querySelector('[data-testid=tasks]')
      let awardMs: number | null = null
      let firstTokenMs: number | null = null
      const startedMs = performance.now()
      const handle = api.tasks.submit({ messages: [{ role: 'user', content }], max_tokens: maxTokens })
      // The task view writes the awarded executor into its row; reading it changes nothing in src/.
      const observer = new MutationObserver(() => {
        if (awardMs === null && list?.querySelector(`[data-task-id="${handle.id}"]`)?.getAttribute('data-executor')) awardMs = performance.now() - startedMs
      })
      if (list) observer.observe(list, { subtree: true, childList: true, attributes: true })
      try {
        for await (const event of handle.chunks) if (event.type === 'text' && firstTokenMs === null) firstTokenMs = performance.now() - startedMs
        const result = await handle.result
        return { awardMs, firstTokenMs, totalMs: performance.now() - startedMs, executor: result.executor, completionTokens: result.usage?.completion_tokens ?? 0 }
      } finally {
        observer.disconnect()
      }
    },
    { content, maxTokens },
  )
}

interface FailoverEvent {
  type: 'text' | 'restart'
  executor: string
  epoch: number
  reason: string
  atMs: number
}

interface FailoverState {
  events: FailoverEvent[]
  handle: TaskHandle
}

type FailoverGlobal = typeof globalThis & { benchFailover?: FailoverState }

export type ExecutorLoss = 'closed' | 'frozen'

export interface FailoverTiming {
  loss: ExecutorLoss
  /** Loss of the executor → 'restart' event (a new executor) in the poster page. */
  restartMs: number
  /** Loss → first text of the new executor. */
  resumedMs: number
  reason: string
}

/** Ends the executor as a closed tab does, or freezes its page's JavaScript as a hung tab. */
async function loseExecutor(executor: AppTab, loss: ExecutorLoss): Promise<number> {
  if (loss === 'closed') {
    const lostAtMs = Date.now()
    await executor.close()
    return lostAtMs
  }
  // Paused in the debugger: no lease renewal, no heartbeat, but its connections stay open.
  const cdp = await executor.context.newCDPSession(executor.page)
  await cdp.send('Debugger.enable')
  const lostAtMs = Date.now()
  await cdp.send('Debugger.pause')
  return lostAtMs
}

/**
 * Posts a long task, loses its executor at the first text event, and times the restart on
 * another worker. Returns the lost worker, closed; the task is cancelled afterwards so that the
 * next repetition starts with idle workers.
 */
export async function timeFailover(poster: Page, workers: AppTab[], maxTokens: number, loss: ExecutorLoss): Promise<{ lost: AppTab; timing: FailoverTiming }> {
  await poster.evaluate((maxTokens) => {
    const api = globalThis.edgeswarm
    if (!api) throw new Error('edgeswarm API missing')
    const handle = api.tasks.submit({ messages: [{ role: 'user', content: 'Tell me a long story about a swarm of bees.' }], max_tokens: maxTokens })
    const events: FailoverEvent[] = []
    // No named functions in here: tsx would wrap them in a helper the page does not have.
    ;(globalThis as FailoverGlobal).benchFailover = { events, handle }
    void (async () => {
      try {
        for await (const event of handle.chunks) events.push({ type: event.type, executor: event.executor, epoch: event.epoch, reason: event.type === 'restart' ? event.reason : '', atMs: Date.now() })
      } catch {
        // cancelled at the end of the repetition
      }
    })()
  }, maxTokens)
  const events = (): Promise<FailoverEvent[]> => poster.evaluate(() => (globalThis as FailoverGlobal).benchFailover?.events ?? [])
  let lost: AppTab | undefined
  try {
    await poster.waitForFunction(() => (globalThis as FailoverGlobal).benchFailover?.events.some((event) => event.type === 'text'), undefined, { timeout: 30_000, polling: 10 })
    const first = (await events()).find((event) => event.type === 'text')
    lost = workers.find((worker) => worker.nodeId === first?.executor)
    if (!lost) throw new Error(`first text came from ${first?.executor ?? 'nobody'}, not a worker`)
    const lostAtMs = await loseExecutor(lost, loss)
    await poster.waitForFunction((lostId) => (globalThis as FailoverGlobal).benchFailover?.events.some((event) => event.type === 'text' && event.epoch > 1 && event.executor !== lostId), lost.nodeId, {
      timeout: 30_000,
      polling: 10,
    })
    const lostId = lost.nodeId
    const seen = await events()
    const restart = seen.find((event) => event.type === 'restart' && event.executor !== lostId)
    const resumed = seen.find((event) => event.type === 'text' && event.epoch > 1 && event.executor !== lostId)
    if (!restart || !resumed) throw new Error('no restart seen')
    return { lost, timing: { loss, restartMs: restart.atMs - lostAtMs, resumedMs: resumed.atMs - lostAtMs, reason: restart.reason } }
  } finally {
    await poster.evaluate(() => (globalThis as FailoverGlobal).benchFailover?.handle.cancel())
    await lost?.close()
  }
}

/** Decode speeds in the workers' presence, as the poster sees them (0: not measured yet). */
export function workerSpeeds(poster: Page): Promise<number[]> {
  return poster.evaluate(() => (globalThis.edgeswarm?.peers() ?? []).map((peer) => Math.round(peer.engine?.decodeTokensPerS ?? 0)))
}

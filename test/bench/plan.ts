// The planner bench: a three-step plan (two independent steps, then the writer) on two workers,
// against the same plan in a room with one worker, where the same three steps run one after
// another on that one node. Real app tabs with the tiny WASM model over WebRTC; then the same in
// process on paced engines, where the decode speed is fixed and the ratio is the scheduling alone.
import { cpus } from 'node:os'
import { chromium, type Browser } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { freshRoom } from '../e2e/support/nodes'
import { PlanRun, validatePlan } from '../../src/market/plan'
import { openAppNode, waitForReadyWorkers, type AppTab } from './market-browser'
import { openBenchRoom } from './market-room'
import { startRelay } from './relay-process'
import { fmt, median, runSection, table } from './stats'

const runs = Number(process.env.BENCH_PLAN_RUNS ?? 3)
const browserStepTokens = Number(process.env.BENCH_PLAN_TOKENS ?? 800)
const inProcessStepTokens = 64
const inProcessTokensPerS = 50

const threeSteps = {
  steps: [
    { id: 'facts', role: 'researcher', prompt: 'List facts about bees.', dependsOn: [] },
    { id: 'risks', role: 'analyst', prompt: 'List risks bees face.', dependsOn: [] },
    { id: 'answer', role: 'writer', prompt: 'Write a short note on bees.', dependsOn: ['facts', 'risks'] },
  ],
}

interface PlanTiming {
  wallMs: number
  executors: number
  /** From the first step posted until both independent steps are done. */
  independentMs: number
}

/** Opens a room of one poster and `workers` tiny-model workers, runs the plan `runs` times from the poster. */
async function browserPlans(browser: Browser, workers: number): Promise<PlanTiming[]> {
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: 'test/fixtures', RELAY_MAX_CONN_PER_IP: '1000' })
  const tabs: AppTab[] = []
  try {
    const ref = freshRoom(`bench-plan-${workers}`)
    const poster = await openAppNode(browser, relay, ref, false)
    tabs.push(poster)
    for (let index = 0; index < workers; index++) tabs.push(await openAppNode(browser, relay, ref, true))
    await waitForReadyWorkers(
      poster.page,
      tabs.slice(1).map((tab) => tab.nodeId),
    )
    const timings: PlanTiming[] = []
    // One warm-up run (first prompts compile the engine's kernels), then the measured ones.
    for (let run = 0; run <= runs; run++) {
      const timing = await poster.page.evaluate(
        async ({ plan, maxTokens }) => {
          const api = globalThis.edgeswarm
          if (!api) throw new Error('no API')
          const startedMs = performance.now()
          const handle = api.tasks.plan('Tell me about bees.', { plan, maxTokens })
          let independentMs = 0
          handle.on('step', (view) => {
            if (view.state === 'done' && view.id !== 'answer') independentMs = Math.max(independentMs, performance.now() - startedMs)
          })
          await handle.result
          return { wallMs: performance.now() - startedMs, executors: new Set(handle.steps().map((step) => step.executor)).size, independentMs }
        },
        { plan: threeSteps, maxTokens: browserStepTokens },
      )
      if (run > 0) timings.push(timing)
    }
    return timings
  } finally {
    await Promise.all(tabs.map((tab) => tab.close().catch(() => undefined)))
    await relay.stop()
  }
}

async function inProcessPlans(workers: number): Promise<PlanTiming[]> {
  const room = await openBenchRoom({ workers, linkDelayMs: 20, decodeTokensPerS: inProcessTokensPerS })
  try {
    const plan = validatePlan(threeSteps)
    const timings: PlanTiming[] = []
    for (let run = 0; run < runs; run++) {
      const startedMs = performance.now()
      const planRun = new PlanRun(room.poster, plan, 'Tell me about bees.', { maxTokens: inProcessStepTokens })
      let independentMs = 0
      planRun.on('step', (view) => {
        if (view.state === 'done' && view.id !== 'answer') independentMs = Math.max(independentMs, performance.now() - startedMs)
      })
      await planRun.result
      timings.push({ wallMs: performance.now() - startedMs, executors: new Set(planRun.steps().map((step) => step.executor)).size, independentMs })
    }
    return timings
  } finally {
    room.close()
  }
}

function row(setting: string, parallel: PlanTiming[], serial: PlanTiming[]): string[] {
  const parallelMs = median(parallel.map((timing) => timing.wallMs))
  const serialMs = median(serial.map((timing) => timing.wallMs))
  const peers = parallel.map((timing) => timing.executors).join('/')
  const independent = (timings: PlanTiming[]) => fmt(median(timings.map((timing) => timing.independentMs)), 0)
  return [setting, fmt(parallelMs, 0), independent(parallel), peers, fmt(serialMs, 0), independent(serial), fmt(serialMs / parallelMs, 2)]
}

export async function benchPlan(): Promise<void> {
  console.log(`\n# plan bench — three steps (two independent, then the writer), median of ${runs} runs, ${cpus().length} cores`)
  const rows: string[][] = []
  await runSection('plan', 'browser', async () => {
    const browser = await chromium.launch(chromiumLaunchOptions())
    try {
      const parallel = await browserPlans(browser, 2)
      const serial = await browserPlans(browser, 1)
      rows.push(row(`browser, tiny wasm model, ${browserStepTokens} tokens a step`, parallel, serial))
    } finally {
      await browser.close()
    }
  })
  await runSection('plan', 'in-process', async () => {
    rows.push(row(`in process, ${inProcessTokensPerS} tok/s engines, ${inProcessStepTokens} tokens a step`, await inProcessPlans(2), await inProcessPlans(1)))
  })
  table(
    'A three-step plan: two workers against one node running the steps one after another',
    ['setting', 'plan on 2 workers ms', '(first two steps)', 'peers used', 'same steps on 1 node ms', '(first two steps)', 'speed-up'],
    rows,
  )
}

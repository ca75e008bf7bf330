import { describe, expect, it } from 'vitest'
import type { Engine } from '../../src/inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../../src/inference/types'
import { PlanError } from '../../src/market/errors'
import { PlanRun, validatePlan, type StepView } from '../../src/market/plan'
import { AbortError, InferenceError } from '../../src/shared/errors'
import { SimEngine } from './market-sim/engine'
import { fastConfig, realTimers, room, statusIn } from './market-sim/room'

/** The step a request is for, from its "Your task: do <id>" line. */
const stepOf = (request: ChatRequest): string => /Your task: do (\S+)/.exec(request.messages.at(-1)?.content ?? '')?.[1] ?? '?'

const step = (id: string, dependsOn: string[] = [], role = 'researcher') => ({ id, role, prompt: `do ${id}`, dependsOn })
/** a and b independent, c after both, d the writer. */
const diamond = validatePlan({ steps: [step('a'), step('b', [], 'analyst'), step('c', ['a', 'b'], 'critic'), step('d', ['c'], 'writer')] })

/** A SimEngine that logs when each step starts and ends on it. */
function loggingEngine(log: string[], name: string, decodeTokensPerS: number): Engine {
  const sim = new SimEngine(realTimers, decodeTokensPerS, false, (request) => log.push(`${name} start ${stepOf(request)}`))
  return Object.assign(Object.create(sim) as Engine, {
    async *chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
      yield* sim.chat(request, signal)
      log.push(`${name} end ${stepOf(request)}`)
    },
  })
}

/** An engine that fails every request at once (it still bids: it claims to be fast). */
class FailingEngine implements Engine {
  readonly kind = 'wasm' as const
  runs = 0
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = (): EngineInfo => ({ kind: 'wasm', modelId: 'sim', contextSize: 4096, availability: 'ready', supports: { tools: false, jsonSchema: false }, prefillTokensPerS: 1000, decodeTokensPerS: 5000 })
  // eslint-disable-next-line require-yield
  async *chat(): AsyncIterable<ChatChunk> {
    this.runs++
    await Promise.resolve()
    throw new InferenceError('out of memory')
  }
}

/** An engine that never answers until aborted. */
class StuckEngine implements Engine {
  readonly kind = 'wasm' as const
  aborted = 0
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = (): EngineInfo => ({ kind: 'wasm', modelId: 'sim', contextSize: 4096, availability: 'ready', supports: { tools: false, jsonSchema: false }, prefillTokensPerS: 1000, decodeTokensPerS: 100 })
  // eslint-disable-next-line require-yield
  async *chat(_request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    await new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => (this.aborted++, reject(new AbortError('aborted'))), { once: true }))
  }
}

const until = async (check: () => boolean, timeoutMs = 5_000) => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('plan runs on the market', () => {
  it('runs independent steps at once on different peers, each after its dependencies, and returns the final answer', async () => {
    const log: string[] = []
    const { members } = await room([null, loggingEngine(log, 'p1', 100), loggingEngine(log, 'p2', 100)])
    const [poster, p1, p2] = members.map((member) => member) as [(typeof members)[0], (typeof members)[0], (typeof members)[0]]
    const run = new PlanRun(poster.market, diamond, 'test the planner', { maxTokens: 8 })
    const events: StepView[] = []
    run.on('step', (view) => events.push(view))
    const text = await run.result
    const steps = run.steps()
    expect(steps.map((s) => s.state)).toEqual(['done', 'done', 'done', 'done'])
    expect(text).toBe(steps[3]?.output)
    expect(text.length).toBeGreaterThan(0)
    // The two independent steps ran at the same time, on the two peers.
    const [a, b] = steps
    expect(new Set([a?.executor, b?.executor])).toEqual(new Set([p1.signer.nodeId, p2.signer.nodeId]))
    const at = (entry: string) => log.findIndex((line) => line.endsWith(entry))
    expect(at('start b')).toBeLessThan(at('end a'))
    expect(at('start a')).toBeLessThan(at('end b'))
    expect(at('start c')).toBeGreaterThan(Math.max(at('end a'), at('end b')))
    expect(at('start d')).toBeGreaterThan(at('end c'))
    // Each step was seen waiting → running → done with the peer that ran it.
    expect(events.filter((view) => view.id === 'c').map((view) => view.state)).toEqual(expect.arrayContaining(['running', 'done']))
    expect(events.find((view) => view.id === 'a' && view.state === 'done')?.executor).toBe(a?.executor)
    for (const member of members) {
      expect(member.errors).toEqual([])
      member.market.destroy()
    }
  })

  it('posts a failed step again on another executor', async () => {
    const failing = new FailingEngine()
    // One award per task: the executor's failure fails the task, and the plan posts it again.
    const { members } = await room([null, failing, 100], { ...fastConfig, maxEpochs: 1 })
    const [poster, bad, good] = members as [(typeof members)[0], (typeof members)[0], (typeof members)[0]]
    const plan = validatePlan({ steps: [step('a', [], 'writer')] })
    const run = new PlanRun(poster.market, plan, 'retry', { maxTokens: 4, retries: 1 })
    const events: StepView[] = []
    run.on('step', (view) => events.push(view))
    await run.result
    expect(failing.runs).toBe(1)
    expect(run.steps()[0]).toMatchObject({ state: 'done', attempts: 2, executor: good.signer.nodeId })
    expect(run.steps()[0]?.error).toMatch(/out of memory/)
    expect(events.map((view) => view.executor)).toContain(bad.signer.nodeId)
    for (const member of members) member.market.destroy()
  })

  it('fails the plan with the step and the reason when every try fails', async () => {
    const { members } = await room([null, new FailingEngine()], { ...fastConfig, maxEpochs: 1 })
    const [poster] = members as [(typeof members)[0]]
    const run = new PlanRun(poster.market, diamond, 'fail', { maxTokens: 4, retries: 1 })
    const error = await run.result.catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(PlanError)
    expect((error as PlanError).message).toMatch(/step (a|b) \((researcher|analyst)\) failed 2 times, last: .*out of memory/)
    expect(run.steps().map((s) => s.state)).toEqual(expect.arrayContaining(['failed', 'cancelled']))
    expect(run.steps().some((s) => s.state === 'running' || s.state === 'waiting')).toBe(false)
    for (const member of members) member.market.destroy()
  })

  it('cancel() cancels the running tasks and every step not done', async () => {
    const stuck = [new StuckEngine(), new StuckEngine()]
    const { members } = await room([null, ...stuck])
    const [poster] = members as [(typeof members)[0]]
    const controller = new AbortController()
    const run = new PlanRun(poster.market, diamond, 'cancel', { maxTokens: 4, signal: controller.signal })
    await until(() => run.steps().filter((s) => s.executor !== null).length === 2)
    const taskIds = poster.market.tasks().map((task) => task.id)
    controller.abort()
    await expect(run.result).rejects.toBeInstanceOf(AbortError)
    expect(run.steps().map((s) => s.state)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled'])
    await until(() => taskIds.every((id) => statusIn(poster.doc, id) === 'cancelled'))
    await until(() => stuck.every((engine) => engine.aborted === 1))
    for (const member of members) member.market.destroy()
  })
})

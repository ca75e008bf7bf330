import { describe, expect, it } from 'vitest'
import type { ChatChunk, ChatRequest } from '../../src/inference/types'
import { PlanError } from '../../src/market/errors'
import { planJsonSchema } from '../../src/market/plan'
import type { JobHost } from '../../src/market/jobs'
import { AbortError, UnsupportedRequestError } from '../../src/shared/errors'
import { Planner } from '../../src/swarm/plan/planner'
import { planJsonOf, writePlan } from '../../src/swarm/plan/writer'
import type { ChatRouter, RoutedAnswer } from '../../src/swarm/routing/chat-router'

/** A router whose model answers `text` (a hostile or broken writer), recording what it was asked. */
function routerAnswering(text: string, asked: ChatRequest[] = [], waitForAbort = false, refusesSchemas = false): Pick<ChatRouter, 'route'> {
  return {
    route: (request, _route, signal) => {
      asked.push(request)
      async function* chunks(): AsyncGenerator<ChatChunk> {
        if (refusesSchemas && request.response_format) throw new UnsupportedRequestError('the swarm does not support response_format json_schema')
        if (waitForAbort)
          await new Promise((_resolve, reject) => (signal?.aborted ? reject(new AbortError('stopped')) : signal?.addEventListener('abort', () => reject(new AbortError('stopped')), { once: true })))
        yield { id: 'w', object: 'chat.completion.chunk', created: 0, model: 'writer', choices: [{ index: 0, delta: { content: text }, finish_reason: 'stop' }] }
      }
      const answer: RoutedAnswer = {
        route: 'swarm',
        decision: null,
        chunks: chunks(),
        answeredBy: () => 'peer-that-wrote',
        engine: () => 'peer',
        model: () => 'writer',
        note: () => '',
        fit: () => null,
      }
      return Promise.resolve(answer)
    },
  }
}

const refusedWith = async (promise: Promise<unknown>): Promise<string> => {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(PlanError)
  return (error as PlanError).message
}

const noMarket: JobHost = {
  submit: () => {
    throw new Error('a refused plan must post no task')
  },
  recordVote: () => undefined,
  newId: () => 'unused',
}

describe('the plan writer', () => {
  it('asks under the plan schema, bounded by the step limit, without thinking', async () => {
    const asked: ChatRequest[] = []
    const written = await writePlan(routerAnswering('{"steps":[{"id":"s1","role":"researcher","prompt":"look","dependsOn":[]}]}', asked), 'goal', 3, 'auto')
    expect(asked[0]?.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'plan', schema: planJsonSchema(3), strict: true } })
    expect(asked[0]?.enable_thinking).toBe(false)
    // A written plan that ends in a researcher gets the final writer step.
    expect(written.plan.steps.map((step) => step.role)).toEqual(['researcher', 'writer'])
    expect(written.writer).toBe('peer-that-wrote')
  })

  it('refuses garbage, a cycle and an oversized plan from the model with the reason', async () => {
    expect(await refusedWith(writePlan(routerAnswering('ĠĠ random tokens }{'), 'goal', 8, 'auto'))).toMatch(/the planner's answer is not JSON/)
    const cycle = '{"steps":[{"id":"s1","role":"analyst","prompt":"a","dependsOn":["s2"]},{"id":"s2","role":"writer","prompt":"b","dependsOn":["s1"]}]}'
    expect(await refusedWith(writePlan(routerAnswering(cycle), 'goal', 8, 'auto'))).toMatch(/form a cycle/)
    const many = JSON.stringify({ steps: Array.from({ length: 5 }, (_, index) => ({ id: `s${index + 1}`, role: 'writer', prompt: 'x', dependsOn: [] })) })
    expect(await refusedWith(writePlan(routerAnswering(many), 'goal', 4, 'auto'))).toMatch(/5 steps, over the limit of 4/)
  })

  it('asks again without the schema where the engine cannot decode under one', async () => {
    const asked: ChatRequest[] = []
    const plan = '{"steps":[{"id":"s1","role":"writer","prompt":"write","dependsOn":[]}]}'
    const written = await writePlan(routerAnswering(plan, asked, false, true), 'goal', 8, 'swarm')
    expect(asked.map((request) => request.response_format?.type ?? 'none')).toEqual(['json_schema', 'none'])
    expect(written.plan.steps).toHaveLength(1)
  })

  it('reads the JSON out of thinking and prose around it', () => {
    expect(planJsonOf('<think>hmm</think>Here: {"steps":[]} done')).toEqual({ steps: [] })
  })
})

describe('the planner', () => {
  it('a refused plan posts nothing and its handle says why', async () => {
    const planner = new Planner({ router: routerAnswering('not json'), market: noMarket })
    const handle = planner.plan('goal')
    expect(planner.plans()).toEqual([handle])
    expect(await refusedWith(handle.plan)).toMatch(/not JSON/)
    expect(await refusedWith(handle.result)).toMatch(/not JSON/)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(handle.phase()).toBe('failed')
    expect(handle.error()).toMatch(/not JSON/)
    expect(await refusedWith(new Planner({ router: routerAnswering(''), market: noMarket }).plan('  ').result)).toMatch(/the goal is empty/)
  })

  it('cancel() while the plan is being written stops the writer', async () => {
    const planner = new Planner({ router: routerAnswering('{}', [], true), market: noMarket })
    const handle = planner.plan('goal')
    handle.cancel()
    await expect(handle.result).rejects.toBeInstanceOf(AbortError)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(handle.phase()).toBe('cancelled')
  })
})

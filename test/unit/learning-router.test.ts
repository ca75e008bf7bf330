import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { OnlineNet } from '../../src/micronets/learner'
import { initialRouterNet, routerShape, type RouterScorer } from '../../src/micronets/router'
import { generateKeyPair, signerFromKeyPair } from '../../src/shared/sign'
import { availableRoute } from '../../src/swarm/routing/chat-router'
import { LearnedNet } from '../../src/swarm/learning/learned-net'
import { LearningRouter, type LearningRouterOptions } from '../../src/swarm/learning/router'
import { SharedNets } from '../../src/swarm/learning/nets'

/** A router with its own error list, so that one test never sees another's errors. */
async function router(workerScorer: LearningRouterOptions['workerScorer']): Promise<{ router: LearningRouter; learned: LearnedNet; errors: unknown[] }> {
  const errors: unknown[] = []
  const report = (error: unknown): void => void errors.push(error)
  const shared = new SharedNets(new Y.Doc(), await signerFromKeyPair(await generateKeyPair(false)), 'f'.repeat(32), { router: routerShape }, report)
  const learned = new LearnedNet({ online: new OnlineNet('router', initialRouterNet(), { loss: 'bce' }), shared, persistence: null, publishDelayMs: 60_000, report })
  return { router: new LearningRouter(learned, { workerScorer, report }), learned, errors }
}

const ask = (content: string): { messages: { role: 'user'; content: string }[] } => ({ messages: [{ role: 'user', content }] })

describe('the router the app routes by', () => {
  test('the advice runs where it can: its own route, else the nearest available, with the reason', () => {
    const all = { local: true, swarm: true, relay: true }
    expect(availableRoute('relay', all)).toEqual({ route: 'relay', note: '' })
    expect(availableRoute('relay', { ...all, relay: false })).toEqual({ route: 'local', note: 'relay not reachable: ran locally' })
    expect(availableRoute('local', { local: false, swarm: true, relay: true })).toEqual({ route: 'swarm', note: 'no local model: ran on a peer' })
    expect(availableRoute('local', { local: false, swarm: false, relay: true })?.route).toBe('relay')
    expect(availableRoute('swarm', { local: false, swarm: false, relay: false })).toBeNull()
  })

  test('feedback teaches: "not good enough" lessons lower P(good) for that request, "good" ones raise it', async () => {
    const { router: r, learned } = await router(null)
    const hard = ask('Write a Rust function that sums a list.')
    const before = (await r.decide(hard)).good
    for (let i = 0; i < 10; i++) r.feedback(hard, 'escalate')
    const after = (await r.decide(hard)).good
    expect(after).toBeLessThan(before)
    const easy = ask('hello')
    const easyBefore = (await r.decide(easy)).good
    for (let i = 0; i < 10; i++) r.feedback(easy, 'thumbs-up')
    expect((await r.decide(easy)).good).toBeGreaterThan(easyBefore)
    expect(learned.state().samples).toBe(20)
    expect(r.feedbackLog().at(-1)).toMatchObject({ signal: 'thumbs-up', good: true })
    expect(() => r.feedback(easy, 'api')).toThrow(RangeError)
    learned.stop()
  })

  test('the worker scorer gets the new weights after learning, and a failing worker falls back to this thread', async () => {
    const scored: number[] = []
    let fail = false
    const {
      router: r,
      learned,
      errors,
    } = await router((net) => {
      const scorer: RouterScorer = {
        score: () => {
          if (fail) return Promise.reject(new Error('ort did not start'))
          scored.push(net.layers[0]?.weights[0] ?? 0)
          return Promise.resolve(0.9)
        },
      }
      return scorer
    })
    await r.decide(ask('hi'))
    r.feedback(ask('hi'), 'thumbs-down')
    await r.decide(ask('hi'))
    expect(scored).toHaveLength(2)
    expect(scored[1]).not.toBe(scored[0])
    fail = true
    const decision = await r.decide(ask('hi'))
    expect(decision.runtime).toBe('main thread')
    expect(r.fallbackReason).toContain('ort did not start')
    expect(errors.map((error) => (error instanceof Error ? error.message : String(error)))).toContainEqual(expect.stringContaining('micro-net worker unavailable'))
    learned.stop()
  })
})

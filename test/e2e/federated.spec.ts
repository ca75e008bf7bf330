import { expect, test, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { shapeOf } from '../../src/micronets/mlp'
import { deserializeMlp } from '../../src/micronets/serialize'
import { expectPeers, freshRoom, openNode, openStockPage, type AppNode } from './support/nodes'

type RouterState = Awaited<ReturnType<NonNullable<typeof globalThis.edgeswarm>['router']['state']>>['router']

const routerState = (page: Page): Promise<RouterState> => page.evaluate(() => globalThis.edgeswarm?.router.state().router as RouterState)

/** What each node learns: three kinds of local data, in three amounts. */
const lessons: { prompts: string[]; good: boolean }[] = [
  {
    prompts: [
      'Write a Rust function that parses a CSV line.',
      'Refactor this TypeScript class to use generics.',
      'Implement an LRU cache in Go with tests.',
      'Write a SQL query joining three tables with window functions.',
      'Port this Python script to async Rust.',
      'Fix the race in this Java thread pool.',
    ],
    good: false,
  },
  {
    prompts: [
      'hi',
      'thanks!',
      'What is the capital of Chile?',
      'Translate "good morning" into French.',
      'Define photosynthesis.',
      'Who wrote Hamlet?',
      'Spell "necessary".',
      'hello there',
      'List three colors.',
      'What is 2 + 2?',
    ],
    good: true,
  },
  { prompts: Array.from({ length: 14 }, (_, index) => `Prove that the sum of the first ${index + 3} odd numbers is a square, rigorously, step by step.`), good: false },
]

test('three nodes with different local data converge to the same router weights; NaN and huge weights from a signed peer are ignored; a claim of 1e9 samples counts as twice the median', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000)
  const room = freshRoom('federated')
  const nodes: AppNode[] = []
  const stock = await openStockPage(browser)
  try {
    for (let index = 0; index < 3; index++) nodes.push(await openNode(browser, room, { engine: 'none' }))
    for (const node of nodes)
      await expectPeers(
        node.page,
        nodes.filter((other) => other !== node).map((other) => other.nodeId),
        20_000,
      )
    const [first] = nodes
    if (!first) throw new Error('no node')
    const initial = (await routerState(first.page)).fingerprint

    // Each node learns from its own data only, through the API the chat's feedback uses too.
    await Promise.all(
      nodes.map((node, index) =>
        node.page.evaluate(
          async ({ prompts, good }) => {
            for (const prompt of prompts) await globalThis.edgeswarm?.router.learn({ messages: [{ role: 'user', content: prompt }] }, good)
          },
          lessons[index] ?? { prompts: [], good: true },
        ),
      ),
    )
    const learnedHere = await Promise.all(nodes.map((node) => routerState(node.page)))
    expect(learnedHere.map((state) => state.samples)).toEqual([6, 10, 14])

    // Published after a short delay, verified, averaged: the same weights everywhere.
    const converged = async (): Promise<string[]> =>
      (await Promise.all(nodes.map((node) => routerState(node.page)))).map(
        (state) =>
          `${state.fingerprint} ${state.contributors
            .map((c) => c.samples)
            .sort((a, b) => a - b)
            .join(',')}`,
      )
    await expect.poll(async () => new Set(await converged()).size, { timeout: 30_000 }).toBe(1)
    const [agreed] = await converged()
    expect(agreed).toContain(' 6,10,14')
    const fingerprint = (await routerState(first.page)).fingerprint
    expect(fingerprint).not.toBe(initial)
    // Not any one node's own learning: the average of the three.
    for (const state of learnedHere) expect(state.fingerprint).not.toBe(fingerprint)

    // A fourth node, stock Yjs with a real key of its own, publishes poisoned weights with a huge sample count.
    const signalingUrl = (baseURL ?? '').replace(/^http/, 'ws') + '/signal'
    await stock.page.evaluate(({ room, key, signalingUrl }) => globalThis.stock.start(room, key, signalingUrl), { room: room.room, key: room.key, signalingUrl })
    await expect.poll(() => stock.page.evaluate(() => globalThis.stock.webrtcPeers()), { timeout: 20_000 }).toBeGreaterThan(0)
    // The build-time router: a well-formed net of the right shape, so only the poison is wrong.
    const weights: unknown = JSON.parse(readFileSync('src/micronets/data/router-weights.json', 'utf8'))
    const shape = shapeOf(deserializeMlp(weights))
    for (const poison of ['nan', 'huge'] as const)
      await stock.page.evaluate(({ shape, weights, poison }) => globalThis.stock.publishNet('router', shape, weights, 1_000_000, poison), { shape, weights, poison })
    for (const node of nodes) await expect.poll(async () => (await routerState(node.page)).rejected, { timeout: 20_000 }).toBe(2)
    for (const node of nodes) {
      const state = await routerState(node.page)
      expect(state.fingerprint).toBe(fingerprint)
      expect(state.contributors).toHaveLength(3)
    }

    // The dashboard shows the pooled learning, and a reload loses none of it.
    await expect(first.page.getByTestId('net-contributors-router')).toContainText('3')
    await expect(first.page.getByTestId('net-rejected-router')).toContainText('2')
    await first.page.reload()
    await first.page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    await expect
      .poll(
        async () => {
          const state = await routerState(first.page)
          return `${state.samples} ${state.fingerprint}`
        },
        { timeout: 20_000 },
      )
      .toBe(`6 ${fingerprint}`)

    // A well-formed contribution that claims 1e9 samples: it counts, as 2 × the lower median (10) = 20.
    const greedy = await stock.page.evaluate(({ shape, weights }) => globalThis.stock.publishNet('router', shape, weights, 1e9, 'none'), { shape, weights })
    for (const node of nodes) {
      await expect.poll(async () => (await routerState(node.page)).contributors.find((c) => c.author === greedy)?.weight, { timeout: 20_000 }).toBe(20)
    }
    await expect.poll(async () => new Set(await converged()).size, { timeout: 30_000 }).toBe(1)
    expect((await converged())[0]).toContain(' 6,10,14,1000000000')
  } finally {
    await stock.close()
    for (const node of nodes) await node.context.close()
  }
})

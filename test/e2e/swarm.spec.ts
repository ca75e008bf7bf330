import { expect, test } from '@playwright/test'
import { ask, expectEngineState, lastAnswer, wasmTiny } from './support/chat'
import { expectPeers, freshRoom, openNode, openStockPage, type AppNode } from './support/nodes'

test.describe('the swarm works as one', () => {
  let nodes: AppNode[] = []
  test.afterEach(async () => {
    await Promise.all(nodes.map((node) => node.context.close().catch(() => undefined)))
    nodes = []
  })

  test('a node with no engine asks, a peer answers, streamed into its chat with the answering node shown', async ({ browser }) => {
    const room = freshRoom('offload')
    const a = await openNode(browser, room, { engine: 'none' })
    const b = await openNode(browser, room, wasmTiny)
    nodes = [a, b]
    await expectEngineState(a.page, 'none')
    await expectEngineState(b.page, 'ready')
    await expectPeers(a.page, [b.nodeId])
    await expect.poll(() => a.page.evaluate(() => globalThis.edgeswarm?.peers()[0]?.engine?.state)).toBe('ready')

    await ask(a.page, 'Hello swarm, who answers?')
    await expect.poll(async () => (await lastAnswer(a.page)).length, { timeout: 20_000 }).toBeGreaterThan(20)
    const meta = a.page.getByTestId('msg-meta').last()
    await expect(meta).toHaveAttribute('data-node-id', b.nodeId, { timeout: 30_000 })
    await expect(meta).toContainText(`node ${b.nodeId.slice(0, 8)} · swarm`)
    await expect(b.page.getByTestId('task').first()).toContainText(`run by me`)

    // Measured completion times teach the speed predictor, on the poster and on the executor.
    const speedSamples = (page: typeof a.page): Promise<number | undefined> => page.evaluate(() => globalThis.edgeswarm?.router.state().speed.samples)
    const before = { a: await speedSamples(a.page), b: await speedSamples(b.page) }
    await a.page.evaluate(async () => {
      await globalThis.edgeswarm?.tasks.submit({ messages: [{ role: 'user', content: 'Count to three.' }], max_tokens: 16 }).result
    })
    await expect.poll(() => speedSamples(a.page), { timeout: 10_000 }).toBeGreaterThan(before.a ?? 0)
    await expect.poll(() => speedSamples(b.page), { timeout: 10_000 }).toBeGreaterThan(before.b ?? 0)
  })

  test('the executor closes mid-stream: the task finishes on another peer within 5 s, with one final result', async ({ browser }) => {
    const room = freshRoom('failover')
    const a = await openNode(browser, room, { engine: 'none' })
    const executors = [await openNode(browser, room, wasmTiny), await openNode(browser, room, wasmTiny), await openNode(browser, room, wasmTiny)]
    nodes = [a, ...executors]
    await Promise.all(executors.map((node) => expectEngineState(node.page, 'ready')))
    await expect.poll(() => a.page.evaluate(() => globalThis.edgeswarm?.peers().filter((peer) => peer.engine?.state === 'ready').length)).toBe(3)

    type Failover = { events: { type: string; executor: string; at: number }[]; result: { executor: string; finish: string; epoch: number } | null; error: string | null }
    const state = (): Promise<Failover> => a.page.evaluate(() => (globalThis as unknown as { failover: Failover }).failover)
    const post = (): Promise<void> =>
      a.page.evaluate(() => {
        const events: { type: string; executor: string; at: number }[] = []
        const handle = globalThis.edgeswarm?.tasks.submit({ messages: [{ role: 'user', content: 'Tell me a long story.' }], max_tokens: 3500 })
        if (!handle) throw new Error('no API')
        Object.assign(globalThis, { failover: { events, result: null, error: null } })
        void (async () => {
          for await (const event of handle.chunks) events.push({ type: event.type, executor: event.executor, at: Date.now() })
        })()
        handle.result.then(
          (result) => Object.assign((globalThis as unknown as { failover: object }).failover, { result }),
          (error: unknown) => Object.assign((globalThis as unknown as { failover: object }).failover, { error: String(error) }),
        )
      })
    // The tiny model writes 1200 tokens in about 1.5 s, so the answer is long (3500 of the 4096
    // context). On a loaded machine
    // the closed executor's whole answer can already be on its way: such a run proves nothing
    // about failover, so it is tried once more on the two executors left.
    let live = [...executors]
    let closedAt = 0
    let survivors: AppNode[] = []
    for (let attempt = 0; attempt < 2; attempt++) {
      await post()
      await a.page.waitForFunction(() => (globalThis as unknown as { failover: Failover }).failover.events.some((event) => event.type === 'text'), undefined, { polling: 20, timeout: 20_000 })
      const first = (await state()).events[0]?.executor
      const executor = live.find((node) => node.nodeId === first)
      expect(executor, 'the first words come from an executor of the room').toBeDefined()
      if (!executor) return
      survivors = live.filter((node) => node !== executor)
      closedAt = Date.now()
      await executor.context.close()
      live = survivors
      await expect
        .poll(
          async () => {
            const now = await state()
            return now.events.some((event) => event.type === 'restart') || now.result !== null
          },
          { timeout: 10_000 },
        )
        .toBe(true)
      const now = await state()
      if (!(now.result?.epoch === 1 && now.result.executor === executor.nodeId && !now.events.some((event) => event.type === 'restart'))) break
    }
    const restart = (await state()).events.find((event) => event.type === 'restart')
    expect(
      survivors.map((node) => node.nodeId),
      'the task restarts on a survivor',
    ).toContain(restart?.executor)
    expect((restart?.at ?? Number.POSITIVE_INFINITY) - closedAt).toBeLessThan(5_000)
    await expect.poll(async () => (await state()).result, { timeout: 60_000 }).not.toBeNull()
    const final = await state()
    expect(final.error).toBeNull()
    const survivor = survivors.find((node) => node.nodeId === final.result?.executor)
    expect(final.result?.epoch).toBe(2)
    expect(survivor, 'the one final result is a survivor’s').toBeDefined()
    await expect((survivor ?? a).page.getByTestId('task').first()).toHaveAttribute('data-status', 'done')
  })
})

test("a result signed with another node's key is ignored: the poster keeps waiting for the executor's own", async ({ browser }) => {
  const room = freshRoom('forged')
  const a = await openNode(browser, room, { engine: 'none' })
  const b = await openNode(browser, room, wasmTiny)
  const liar = await openStockPage(browser)
  try {
    await expectEngineState(b.page, 'ready')
    await expect.poll(() => a.page.evaluate(() => globalThis.edgeswarm?.peers()[0]?.engine?.state)).toBe('ready')
    const signalingUrl = `${new URL(a.page.url()).origin.replace(/^http/, 'ws')}/signal`
    await liar.page.evaluate(
      ({ room, key, signalingUrl }) => {
        globalThis.stock.start(room, key, signalingUrl)
        globalThis.stock.forgeResults('FORGED ANSWER')
      },
      { room: room.room, key: room.key, signalingUrl },
    )
    await expect.poll(() => liar.page.evaluate(() => globalThis.stock.webrtcPeers())).toBeGreaterThan(0)

    const result = await a.page.evaluate(async () => {
      const handle = globalThis.edgeswarm?.tasks.submit({ messages: [{ role: 'user', content: 'Say something true.' }], max_tokens: 600 })
      if (!handle) throw new Error('no API')
      return handle.result
    })
    expect(await liar.page.evaluate(() => globalThis.stock.forged())).toBeGreaterThan(0)
    expect(result.executor).toBe(b.nodeId)
    expect(result.text).not.toContain('FORGED ANSWER')
    expect(result.text.length).toBeGreaterThan(20)
  } finally {
    await liar.close()
    await a.context.close()
    await b.context.close()
  }
})

test('a fan-out job over three peers maps every chunk and reduces the answers', async ({ browser }) => {
  const room = freshRoom('fanout')
  const a = await openNode(browser, room, { engine: 'none' })
  const workers = [await openNode(browser, room, wasmTiny), await openNode(browser, room, wasmTiny), await openNode(browser, room, wasmTiny)]
  try {
    await Promise.all(workers.map((worker) => expectEngineState(worker.page, 'ready')))
    await expect.poll(() => a.page.evaluate(() => globalThis.edgeswarm?.peers().filter((peer) => peer.engine?.state === 'ready').length), { timeout: 20_000 }).toBe(3)
    const paragraphs = Array.from({ length: 6 }, (_, i) => `Paragraph ${i + 1}: the swarm splits long documents into parts, and every peer summarizes one of them.`)
    const result = await a.page.evaluate((text) => globalThis.edgeswarm?.tasks.fanOut(text, { chunkChars: 200, maxTokens: 40 }), paragraphs.join('\n\n'))
    expect(result?.parts.length).toBeGreaterThanOrEqual(3)
    for (const part of result?.parts ?? []) {
      expect(part.text.length).toBeGreaterThan(0)
      expect(workers.map((worker) => worker.nodeId)).toContain(part.executor)
    }
    expect(new Set(result?.parts.map((part) => part.executor)).size).toBeGreaterThan(1)
    expect(result?.reduce.text.length).toBeGreaterThan(0)
    expect(workers.map((worker) => worker.nodeId)).toContain(result?.reduce.executor)

    // The same through the UI: "summarize with the swarm" for a pasted document.
    await a.page.getByText('Summarize a document with the swarm').click()
    await a.page.getByTestId('summarize-input').fill(paragraphs.join('\n\n').repeat(6))
    await a.page.getByTestId('summarize-run').click()
    await expect(a.page.getByTestId('summarize-status')).toContainText(/\d+ parts summarized by .+, combined by/, { timeout: 60_000 })
    await expect(a.page.getByTestId('summarize-output')).toBeVisible()

    // A redundant job's vote is a lesson for the poster's router: agreement says the small model did fine.
    const lesson = await a.page.evaluate(async () => {
      const api = globalThis.edgeswarm
      if (!api) throw new Error('edgeswarm API missing')
      const before = api.router.state().router.samples
      const voted = await api.tasks.redundant({ messages: [{ role: 'user', content: 'Name a color.' }], max_tokens: 8 }, 2)
      return { before, after: api.router.state().router.samples, answers: voted.answers.length, outvoted: voted.outvoted.length }
    })
    expect(lesson.answers).toBe(2)
    expect(lesson.after).toBe(lesson.before + 1)
  } finally {
    await Promise.all([a, ...workers].map((node) => node.context.close()))
  }
})

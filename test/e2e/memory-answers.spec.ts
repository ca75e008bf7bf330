import { expect, test, type Page } from '@playwright/test'
import { ask, expectEngineState, lastAnswer, wasmTiny } from './support/chat'
import { addMemoryViaUi, expectMemory, freshRoom, openNode, readyNodeId, type AppNode } from './support/nodes'

const fact = 'The Zorbania capital is Quuxville, on the river Snark.'
const question = 'Zorbania capital?'

/** The messages this node's own model was last asked to run, as text. */
function lastLocalPrompt(page: Page): Promise<string> {
  return page.evaluate(() => JSON.stringify(globalThis.edgeswarm?.engines.local.lastRequest()?.messages ?? null))
}

async function useRoomMemory(page: Page): Promise<void> {
  await page.getByTestId('chat-use-memory').check()
}

test.describe('answers that use the room memory', () => {
  let nodes: AppNode[] = []
  test.afterEach(async () => {
    await Promise.all(nodes.map((node) => node.context.close().catch(() => undefined)))
    nodes = []
  })

  test("A's fact is quoted into B's prompt, signed by A, listed under B's answer, and reaches the peer that runs a swarm-routed chat", async ({ browser }) => {
    const room = freshRoom('memory-answers')
    const a = await openNode(browser, room, { engine: 'none' })
    const b = await openNode(browser, room, wasmTiny)
    const c = await openNode(browser, room, wasmTiny)
    nodes = [a, b, c]
    await addMemoryViaUi(a.page, fact)
    await expectMemory(b.page, [fact])
    await expectMemory(c.page, [fact])
    await expectEngineState(b.page, 'ready')

    // B answers on its own model with the switch on: the engine's request holds A's entry, marked verified.
    await useRoomMemory(b.page)
    await b.page.getByTestId('chat-route').selectOption('local')
    await ask(b.page, question)
    await expect.poll(() => lastLocalPrompt(b.page)).toContain('Quuxville')
    const prompt = JSON.parse(await lastLocalPrompt(b.page)) as { role: string; content: string }[]
    expect(prompt[0]?.role).toBe('system')
    expect(prompt[0]?.content).toContain(`"author":"${a.nodeId}","signature":"verified","text":"${fact}"`)
    expect(prompt[0]?.content).toMatch(/never instructions/)
    expect(prompt.at(-1)).toEqual({ role: 'user', content: question })
    const listed = b.page.getByTestId('msg-memory-entry')
    await expect(listed).toHaveCount(1)
    await expect(listed).toHaveAttribute('data-author', a.nodeId)
    await expect(listed).toHaveAttribute('data-verified', 'true')
    await expect(listed).toContainText(`${a.nodeId.slice(0, 8)} · verified`)
    await expect.poll(async () => (await lastAnswer(b.page)).length, { timeout: 30_000 }).toBeGreaterThan(5)
    await b.page.getByTestId('chat-stop').click()
    await expect(b.page.getByTestId('msg-meta').last()).toContainText('stopped')

    // The list is kept with the message, and the switch with the room's settings.
    await b.page.reload()
    await readyNodeId(b.page)
    await expect(b.page.getByTestId('msg-memory-entry')).toHaveAttribute('data-author', a.nodeId)
    await expect(b.page.getByTestId('chat-use-memory')).toBeChecked()

    // A has no model: its chat runs on a peer, and that peer's engine receives the quoted entry.
    await expect.poll(() => a.page.evaluate(() => globalThis.edgeswarm?.peers().filter((peer) => peer.engine?.state === 'ready').length), { timeout: 30_000 }).toBe(2)
    await useRoomMemory(a.page)
    await a.page.getByTestId('chat-route').selectOption('swarm')
    await ask(a.page, question)
    await expect(a.page.getByTestId('msg-memory-entry')).toHaveAttribute('data-author', a.nodeId)
    await expect.poll(async () => (await lastAnswer(a.page)).length, { timeout: 30_000 }).toBeGreaterThan(5)
    await a.page.getByTestId('chat-stop').click()
    const meta = a.page.getByTestId('msg-meta').last()
    await expect(meta).toContainText('swarm')
    const executor = await meta.getAttribute('data-node-id')
    const ran = [b, c].find((node) => node.nodeId === executor)
    expect(ran, `the answer names a peer that ran it (${executor})`).toBeDefined()
    if (!ran) return
    const peerPrompt = JSON.parse(await lastLocalPrompt(ran.page)) as { role: string; content: string }[]
    expect(peerPrompt[0]?.content).toContain(`"author":"${a.nodeId}","signature":"verified","text":"${fact}"`)
    expect(peerPrompt.at(-1)).toEqual({ role: 'user', content: question })
  })

  test('edgeswarm.chat with memory: { k } quotes the entries; a bad k is refused by name', async ({ browser }) => {
    const a = await openNode(browser, freshRoom('memory-api'), wasmTiny)
    nodes = [a]
    await expectEngineState(a.page, 'ready')
    await a.page.evaluate((text) => globalThis.edgeswarm?.memory.add(text), fact)
    await a.page.evaluate(async (content) => {
      for await (const chunk of globalThis.edgeswarm?.chat({ messages: [{ role: 'user', content }], max_tokens: 4, route: 'local', memory: { k: 2 } }) ?? []) if (chunk.choices[0].finish_reason) break
    }, question)
    expect(await lastLocalPrompt(a.page)).toContain('Quuxville')
    const error = await a.page.evaluate(async () => {
      try {
        for await (const chunk of globalThis.edgeswarm?.chat({ messages: [{ role: 'user', content: 'x' }], memory: { k: 0 } }) ?? []) if (chunk.choices[0].finish_reason) break
        return 'no error'
      } catch (error) {
        return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      }
    })
    expect(error).toMatch(/^ValidationError: bad chat request: memory.k/)
  })
})

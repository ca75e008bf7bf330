import { expect, test } from '@playwright/test'
import { ask, expectEngineState, lastAnswer, wasmTiny } from './support/chat'
import { freshRoom, openNode } from './support/nodes'

test('a question routed to the relay streams into the chat, with the route shown', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('relay-route'), wasmTiny)
  try {
    await expectEngineState(a.page, 'ready')
    await a.page.getByTestId('chat-route').selectOption('relay')
    await ask(a.page, 'A hard question for the big model')
    await expect.poll(async () => (await lastAnswer(a.page)).length, { timeout: 30_000 }).toBeGreaterThan(20)
    const meta = a.page.getByTestId('msg-meta').last()
    await expect(meta).toContainText('the relay · relay · tiny-qwen3', { timeout: 60_000 })
    await expect(meta).toHaveAttribute('data-node-id', 'relay')
  } finally {
    await a.context.close()
  }
})

test('when the relay cannot be reached, the answer falls back to local with a visible note', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('relay-down'), wasmTiny)
  try {
    await expectEngineState(a.page, 'ready')
    await a.page.route('**/v1/chat/completions', (route) => route.abort('connectionrefused'))
    await a.page.getByTestId('chat-route').selectOption('relay')
    await ask(a.page, 'Anyone at the relay?')
    await expect.poll(async () => (await lastAnswer(a.page)).length, { timeout: 30_000 }).toBeGreaterThan(20)
    await a.page.getByTestId('chat-stop').click()
    const meta = a.page.getByTestId('msg-meta').last()
    await expect(meta).toContainText('this node · wasm')
    await expect(meta).toContainText('relay unreachable')
    await expect(meta).toContainText('answered locally')
  } finally {
    await a.context.close()
  }
})

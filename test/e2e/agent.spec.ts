import { expect, test, type Page } from '@playwright/test'
import { ask, expectEngineState, wasmTiny } from './support/chat'
import { freshRoom, openNode } from './support/nodes'

/** The room memory as this node reads it: text, author and trust. */
function memory(page: Page): Promise<{ text: string; author: string; trust: string }[]> {
  return page.evaluate(async () => (await globalThis.edgeswarm?.memory.list())?.map(({ text, author, trust }) => ({ text, author, trust })) ?? [])
}

test('the agent loop on the wasm engine: steps shown as they happen, an add waits for the user, Stop ends it', async ({ browser }) => {
  test.setTimeout(150_000)
  const a = await openNode(browser, freshRoom('agent'), wasmTiny)
  try {
    await expectEngineState(a.page, 'ready')
    await a.page.getByTestId('chat-agent').check()
    await a.page.getByTestId('chat-route').selectOption('local')

    // Every step is a forced call: even the random-weight model makes a well-formed one, shown as a step.
    await ask(a.page, 'Remember that the meeting is on Friday.')
    const run = a.page.getByTestId('agent-run').last()
    await expect(run).toHaveAttribute('data-end', 'running')
    const confirm = a.page.getByTestId('agent-confirm')
    await expect(confirm).toBeVisible({ timeout: 60_000 })
    const call = run.locator('[data-testid=agent-step][data-kind=call]').last()
    await expect(call).toHaveAttribute('data-tool', 'memory_add')
    const proposed = (await a.page.getByTestId('agent-confirm-text').textContent()) ?? ''
    expect(proposed.length).toBeGreaterThan(0)
    // Nothing is written before the user says so.
    expect(await memory(a.page)).toEqual([])
    await a.page.getByTestId('agent-add').click()
    await expect(confirm).toBeHidden()
    await expect.poll(() => memory(a.page)).toEqual([{ text: proposed, author: a.nodeId, trust: 'trusted' }])
    await expect(run.locator('[data-testid=agent-step][data-kind=result][data-tool=memory_add]')).toContainText('Added to the room memory')

    // The loop goes on to its next step; Stop ends it there.
    await a.page.getByTestId('chat-stop').click()
    await expect(run).toHaveAttribute('data-end', 'stopped')
    await expect(a.page.getByTestId('chat-stop')).toBeHidden()
    const shown = await run.getByTestId('agent-step').count()
    await a.page.waitForTimeout(1_000)
    expect(await run.getByTestId('agent-step').count()).toBe(shown)

    // Stop while an add waits for the user: the loop ends and nothing more is written.
    await ask(a.page, 'Remember that the meeting is on Friday.')
    const second = a.page.getByTestId('agent-run').last()
    await expect(confirm).toBeVisible({ timeout: 60_000 })
    await a.page.getByTestId('chat-stop').click()
    await expect(second).toHaveAttribute('data-end', 'stopped')
    await expect(confirm).toBeHidden()
    expect(await memory(a.page)).toHaveLength(1)

    // The steps are kept with the conversation.
    await a.page.reload()
    await expect(a.page.getByTestId('agent-run')).toHaveCount(2)
    await expect(a.page.getByTestId('agent-run').first()).toHaveAttribute('data-end', 'stopped')
    await expect(a.page.getByTestId('chat-agent')).toBeChecked()
  } finally {
    await a.context.close()
  }
})

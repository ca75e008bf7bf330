import { expect, test, type Page } from '@playwright/test'
import { ask, expectEngineState, lastAnswer, wasmTiny } from './support/chat'
import { freshRoom, openNode, readyNodeId } from './support/nodes'

const routerSamples = (page: Page): Promise<number | undefined> => page.evaluate(() => globalThis.edgeswarm?.router.state().router.samples)

async function stopWhenTalking(page: Page): Promise<void> {
  await expect.poll(async () => (await lastAnswer(page)).length, { timeout: 30_000 }).toBeGreaterThan(10)
  await page.getByTestId('chat-stop').click()
  await expect(page.getByTestId('msg-meta').last()).toBeVisible()
}

test('the micro-net router picks each route in a worker and shows it; thumbs and escalation teach it; nothing learned is lost on reload', async ({ browser }) => {
  test.setTimeout(120_000)
  const a = await openNode(browser, freshRoom('routing'), wasmTiny)
  try {
    await expectEngineState(a.page, 'ready')
    await expect(a.page.getByTestId('router-runtime')).toHaveAttribute('data-runtime', 'worker')

    // An easy question stays on this node's small model; the answer says what the router advised.
    await ask(a.page, 'hi')
    await stopWhenTalking(a.page)
    const meta = a.page.getByTestId('msg-meta').last()
    await expect(meta).toContainText('this node')
    await expect(meta).toContainText(/router: local \d+ %/)
    await expect(a.page.getByTestId('route-decision').first()).toHaveAttribute('data-route', 'local')

    // A hard one goes to the relay's big model.
    await ask(a.page, 'Give a rigorous proof, step by step, that every bounded monotone sequence of real numbers converges. Justify each lemma formally and analyze the edge cases in detail.')
    await stopWhenTalking(a.page)
    await expect(a.page.getByTestId('msg-meta').last()).toContainText(/the relay .*router: relay \d+ %/)
    await expect(a.page.getByTestId('route-decision').first()).toHaveAttribute('data-route', 'relay')
    expect(await routerSamples(a.page)).toBe(0)

    // Thumbs down on the small model's answer, then "ask the relay" on it: two lessons.
    await a.page.getByTestId('msg-down').first().click()
    await expect(a.page.getByTestId('msg-down').first()).toHaveAttribute('aria-pressed', 'true')
    expect(await routerSamples(a.page)).toBe(1)
    await ask(a.page, 'hello again')
    await stopWhenTalking(a.page)
    await a.page.getByTestId('msg-escalate').click()
    await stopWhenTalking(a.page)
    await expect(a.page.getByTestId('msg-meta').last()).toContainText('the relay')
    expect(await routerSamples(a.page)).toBe(2)
    await expect(a.page.getByTestId('feedback-lesson')).toHaveCount(2)
    await expect(a.page.getByTestId('learning-plot-router')).toHaveAttribute('data-points', '2')

    // The cost–quality setting and what was learned survive a reload.
    await a.page.getByTestId('cost-quality').fill('0.9')
    await expect(a.page.getByTestId('cost-quality-meaning')).toContainText('0.90')
    await a.page.waitForTimeout(300)
    await a.page.reload()
    await readyNodeId(a.page)
    expect(await routerSamples(a.page)).toBe(2)
    await expect(a.page.getByTestId('cost-quality')).toHaveValue('0.9')
    await expect(a.page.getByTestId('msg-down').first()).toHaveAttribute('aria-pressed', 'true')
  } finally {
    await a.context.close()
  }
})

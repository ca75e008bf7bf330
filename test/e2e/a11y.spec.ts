import AxeBuilder from '@axe-core/playwright'
import { expect, test, type Page } from '@playwright/test'
import { conversationFile, importConversations, knownConversation, openConversations } from './support/conversation-file'
import { appPath, freshRoom, openNode, readyNodeId } from './support/nodes'

/** The serious and critical violations axe finds on the page as it is, each as "rule: target". */
async function seriousViolations(page: Page, include?: string): Promise<string[]> {
  const builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
  const results = await (include ? builder.include(include) : builder).analyze()
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .flatMap((violation) => violation.nodes.map((node) => `${violation.id}: ${node.target.join(' ')} (${node.failureSummary ?? ''})`))
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`axe finds no serious or critical violation on the main views (${colorScheme} theme): chat with an answer, swarm, memory, engine, the conversations and a dialog`, async ({ browser }) => {
    const a = await openNode(browser, freshRoom(`a11y-${colorScheme}`), { engine: 'none' })
    try {
      await a.page.emulateMedia({ colorScheme })
      await expect(a.page.locator('html')).toHaveAttribute('data-theme', colorScheme)
      await importConversations(a.page, 'known.json', conversationFile([knownConversation('a11y-1', 'How do I add numbers')]))
      await expect(a.page.getByTestId('msg-answer').locator('pre code')).toBeVisible()
      await a.page.getByTestId('memory-text').fill('The river is long.')
      await a.page.getByTestId('memory-add').click()
      await expect(a.page.getByTestId('memory-item-text')).toHaveText(['The river is long.'])
      await openConversations(a.page)
      for (const details of await a.page.locator('details:not([open]) > summary').all()) if (await details.isVisible()) await details.click()
      expect(await seriousViolations(a.page)).toEqual([])

      await a.page.getByTestId('chat-rename').click()
      await expect(a.page.getByTestId('dialog')).toBeVisible()
      expect(await seriousViolations(a.page, 'dialog')).toEqual([])
      await a.page.keyboard.press('Escape')
      await expect(a.page.getByTestId('dialog')).toHaveCount(0)
      await expect(a.page.getByTestId('chat-rename')).toBeFocused()
    } finally {
      await a.context.close()
    }
  })
}

test('axe finds no serious or critical violation on what a newcomer sees: the model offer, the room list, the serve control and the share dialog', async ({ browser }) => {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    // engine=wasm with no model: the offer of the catalog's GGUFs, which nobody agreed to yet, so nothing downloads.
    await page.goto(appPath(freshRoom('a11y-newcomer'), { engine: 'wasm' }))
    await readyNodeId(page)
    await expect(page.getByTestId('model-offer')).toBeVisible()
    await page.getByTestId('rooms-toggle').click()
    await expect(page.getByTestId('room-row')).toHaveCount(1)
    for (const details of await page.locator('details:not([open]) > summary').all()) if (await details.isVisible()) await details.click()
    expect(await seriousViolations(page)).toEqual([])

    await page.goto('/share?text=A%20note%20to%20keep')
    await readyNodeId(page)
    await expect(page.getByTestId('share-dialog')).toBeVisible()
    expect(await seriousViolations(page)).toEqual([])
  } finally {
    await context.close()
  }
})

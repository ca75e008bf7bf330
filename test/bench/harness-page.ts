import type { Browser, BrowserContext, Page } from '@playwright/test'
import type { RelayProcess } from './relay-process'

/** Opens the harness page served by `relay` in a fresh context, once it says it is ready. */
export async function openHarness(browser: Browser, relay: RelayProcess): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: relay.url })
  try {
    const page = await context.newPage()
    await page.goto('/')
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    return { context, page }
  } catch (error) {
    await context.close()
    throw error
  }
}

import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
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

/** Chromium that answers measureUserAgentSpecificMemory at once (without the flag, only at the next GC). */
export function launchMeasuringChromium(): Promise<Browser> {
  const options = chromiumLaunchOptions()
  return chromium.launch({ ...options, args: [...(options.args ?? []), '--enable-blink-features=ForceEagerMeasureMemory'] })
}

// Captures the manifest's screenshots (public/screenshots/, committed): `npm run build && node --import tsx scripts/screenshots.ts`.
import { chromium } from '@playwright/test'
import { chromiumLaunchOptions } from '../test/e2e/support/browser'
import { startRelay } from '../test/bench/relay-process'

const relay = await startRelay({ RELAY_STATIC_DIR: 'dist' })
const browser = await chromium.launch(chromiumLaunchOptions())
try {
  for (const [name, width, height] of [
    ['wide', 1280, 800],
    ['narrow', 412, 915],
  ] as const) {
    const context = await browser.newContext({ viewport: { width, height }, colorScheme: 'dark' })
    const page = await context.newPage()
    await page.goto(`${relay.url}/?room=team-notes&engine=none#key=screenshot-key`)
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    await page.evaluate(async () => {
      await globalThis.edgeswarm?.memory.add('The relay listens on 8787 unless PORT is set', ['ops'])
      await globalThis.edgeswarm?.memory.add('Room replicas live in RELAY_DATA_DIR', ['ops', 'relay'])
    })
    await page.getByTestId('chat-input').fill('What does the relay keep on disk?')
    await page.waitForTimeout(1500)
    await page.screenshot({ path: `public/screenshots/${name}.png` })
    await context.close()
  }
} finally {
  await browser.close()
  await relay.stop()
}

// The installed app's launch: a profile that has been in a room opens `/` (the manifest's
// start_url) and lands in that room. Measured in the page, from navigation start to
// `edgeswarm:ready` (the room's local doc read, the node up, the UI mounted), with the service
// worker already serving the app as it does for an installed app, beside the same room opened
// by its invite link and a fresh profile's `/` (a new room).
import { chromium, type BrowserContext } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { appPath, freshRoom } from '../e2e/support/nodes'
import { startRelay } from './relay-process'
import { fmt, median, table } from './stats'

const runs = 7
const memoryEntries = 100

/** Milliseconds from this page's navigation start to its `edgeswarm:ready`. */
async function launchMs(context: BrowserContext, url: string): Promise<number> {
  const page = await context.newPage()
  try {
    await page.goto(url)
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    return await page.evaluate(() => (globalThis as { readyAtMs?: number }).readyAtMs ?? Number.NaN)
  } finally {
    await page.close()
  }
}

async function newProfile(browser: Awaited<ReturnType<typeof chromium.launch>>, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL })
  await context.addInitScript(() => window.addEventListener('edgeswarm:ready', () => Object.assign(globalThis, { readyAtMs: performance.now() })))
  return context
}

export async function benchRooms(): Promise<void> {
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist' })
  const browser = await chromium.launch(chromiumLaunchOptions())
  try {
    const ref = freshRoom('bench-rooms')
    const profile = await newProfile(browser, relay.url)
    // The first visit (the invite link) installs the service worker and fills the room.
    const first = await profile.newPage()
    await first.goto(appPath(ref, { engine: 'none' }))
    await first.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    await first.evaluate(async (count) => {
      for (let i = 0; i < count; i++) await globalThis.edgeswarm?.memory.add(`fact number ${i} worth keeping in the room`)
    }, memoryEntries)
    await first.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 })
    await first.close()

    const lastRoom: number[] = []
    const invite: number[] = []
    const fresh: number[] = []
    for (let run = 0; run < runs; run++) {
      lastRoom.push(await launchMs(profile, '/?engine=none'))
      invite.push(await launchMs(profile, appPath(ref, { engine: 'none' })))
      const empty = await newProfile(browser, relay.url)
      fresh.push(await launchMs(empty, '/?engine=none'))
      await empty.close()
    }
    const row = (label: string, values: number[]): string[] => [label, fmt(median(values), 0), fmt(Math.min(...values), 0), fmt(Math.max(...values), 0), String(values.length)]
    table(
      `Launch to the last room ready (navigation start → edgeswarm:ready; engine=none; the room holds ${memoryEntries} memory entries; new tab each run)`,
      ['launch', 'p50 ms', 'min ms', 'max ms', 'runs'],
      [row('installed app: `/` → last room (service worker)', lastRoom), row('same room by its invite link (service worker)', invite), row('fresh profile: `/` → new room (network)', fresh)],
    )
    await profile.close()
  } finally {
    await browser.close()
    await relay.stop()
  }
}

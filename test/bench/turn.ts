// Direct links against TURN-relayed ones, side by side in one run: a new tab's page open →
// first peer over WebRTC (join), and its first swarm answer token, with a real coturn on
// loopback (so the figures show what relaying costs in itself, not a real network's distance).
import { chromium, type Browser } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { wasmTiny } from '../e2e/support/chat'
import { startCoturn } from '../e2e/support/coturn'
import { appPath, freshRoom, readyNodeId, type RoomRef } from '../e2e/support/nodes'
import { startRelay, type RelayProcess } from './relay-process'
import { fmt, median, table } from './stats'

const samples = Number(process.env.BENCH_TURN_SAMPLES ?? 5)
const secret = 'bench-coturn-shared-secret-0123456789'
type Mode = 'all' | 'relay'

interface Sample {
  joinMs: number
  firstTokenMs: number
}

/** One new tab (its own profile) with `ice=mode`: page open → first peer, then a swarm question → first token. */
async function sampleJoin(browser: Browser, relay: RelayProcess, ref: RoomRef, mode: Mode): Promise<Sample> {
  const context = await browser.newContext({ baseURL: relay.url })
  try {
    const page = await context.newPage()
    const started = Date.now()
    await page.goto(appPath(ref, { peerTimeoutMs: '15000', engine: 'none', ice: mode }))
    await readyNodeId(page)
    // Separate profiles share no BroadcastChannel: the first peer comes over a WebRTC link.
    await page.waitForFunction(() => globalThis.edgeswarm?.peers().some((peer) => peer.engine?.state === 'ready') === true, undefined, { polling: 10, timeout: 60_000 })
    const joinMs = Date.now() - started
    const firstTokenMs = await page.evaluate(async () => {
      const asked = performance.now()
      const chunks = globalThis.edgeswarm?.chat({ messages: [{ role: 'user', content: 'Say one word.' }], max_tokens: 8, route: 'swarm', enable_thinking: false })
      if (!chunks) throw new Error('no API')
      for await (const chunk of chunks) if ((chunk.choices[0].delta.content ?? '') !== '') return performance.now() - asked
      return Number.NaN
    })
    return { joinMs, firstTokenMs }
  } finally {
    await context.close()
  }
}

export async function benchTurn(): Promise<void> {
  const coturn = await startCoturn(secret)
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: 'test/fixtures', RELAY_TURN_URLS: coturn.url, RELAY_TURN_SECRET: secret, RELAY_NET_PER_MIN: '100000' })
  const browser = await chromium.launch(chromiumLaunchOptions())
  try {
    const results: Record<Mode, Sample[]> = { all: [], relay: [] }
    const hosts = await Promise.all(
      (['all', 'relay'] as const).map(async (mode) => {
        const ref = freshRoom(`bench-turn-${mode}`)
        const context = await browser.newContext({ baseURL: relay.url })
        const page = await context.newPage()
        await page.goto(appPath(ref, { peerTimeoutMs: '15000', ice: mode, ...wasmTiny }))
        await readyNodeId(page)
        await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid=engine-view]')?.dataset.engineState === 'ready', undefined, { timeout: 60_000 })
        return { mode, ref, context }
      }),
    )
    // Alternating, so a slow moment of the machine falls on both.
    for (let index = 0; index < samples; index++) {
      for (const host of hosts) results[host.mode].push(await sampleJoin(browser, relay, host.ref, host.mode))
    }
    await Promise.all(hosts.map((host) => host.context.close()))
    const row = (label: string, list: Sample[], pick: (sample: Sample) => number, base: Sample[]): string[] => [
      label,
      fmt(median(list.map(pick))),
      fmt(Math.max(...list.map(pick))),
      fmt(median(list.map(pick)) / median(base.map(pick)), 2),
    ]
    table(
      `Direct vs TURN-relayed links (coturn on loopback, ${samples} new tabs each, one wasm peer already there)`,
      ['figure', 'p50 ms', 'max ms', '÷ direct'],
      [
        row('join, direct (page open → first peer over WebRTC)', results.all, (sample) => sample.joinMs, results.all),
        row('join, ice=relay (TURN)', results.relay, (sample) => sample.joinMs, results.all),
        row('first token from the swarm, direct', results.all, (sample) => sample.firstTokenMs, results.all),
        row('first token from the swarm, ice=relay (TURN)', results.relay, (sample) => sample.firstTokenMs, results.all),
      ],
    )
  } finally {
    await browser.close()
    await relay.stop()
    await coturn.stop()
  }
}

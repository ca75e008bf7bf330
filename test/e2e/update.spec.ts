// A new version arrives while a tab streams an answer. Build A is this checkout's `dist`; build B
// is the same source built again in setup with another EDGESWARM_BUILD_ID (so its chunks, their
// hashes and the service worker's precache list differ, as in a real release). The relay serves
// a symlink that the test turns from A to B (the static handler resolves its folder per request).
import { expect, test } from '@playwright/test'
import { execFile } from 'node:child_process'
import { cp, mkdtemp, rename, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort } from '../unit/relay-fuzz/relay-process'
import { ask, expectEngineState, lastAnswer, wasmTiny } from './support/chat'
import { appPath, freshRoom, readyAndAgreed, readyNodeId } from './support/nodes'
import { startRelayOnPort, type PortRelay } from './support/relay-on-port'

const buildB = 'e2e-update-b'
let dir = ''
let relay: PortRelay | null = null

/** Points the served folder at `build` (a rename over the link, so no request sees it missing). */
async function serve(build: 'a' | 'b'): Promise<void> {
  const next = path.join(dir, `served-${build}`)
  await symlink(path.join(dir, build), next)
  await rename(next, path.join(dir, 'served'))
}

test.beforeAll(async () => {
  test.setTimeout(240_000)
  dir = await mkdtemp(path.join(tmpdir(), 'edgeswarm-update-'))
  await cp('dist', path.join(dir, 'a'), { recursive: true })
  await promisify(execFile)(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', path.join(dir, 'b'), '--emptyOutDir', '--logLevel', 'warn'], {
    env: { ...process.env, EDGESWARM_BUILD_ID: buildB },
    maxBuffer: 16 * 1024 * 1024,
  })
  await serve('a')
  relay = await startRelayOnPort(await freePort(), { RELAY_STATIC_DIR: path.join(dir, 'served') })
})

test.afterAll(async () => {
  await relay?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

test('a new version served mid-answer is offered, the answer keeps streaming, and the page reloads onto it only when told', async ({ browser }) => {
  if (!relay) throw new Error('the relay did not start')
  await serve('a')
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
    await page.goto(`${relay.baseUrl}${appPath(freshRoom('update'), wasmTiny)}`)
    await readyAndAgreed(page, wasmTiny)
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 })
    const versionA = (await page.getByTestId('app-version').textContent()) ?? ''
    expect(versionA).toMatch(/^edgeswarm \d+\.\d+\.\d+\+/)
    expect(versionA).not.toContain(buildB)
    await page.evaluate(() => Object.assign(window, { updateMarker: 'still build A' }))
    await expectEngineState(page, 'ready', 60_000)

    await ask(page, 'Write a very long story about a lighthouse keeper.')
    await expect.poll(async () => (await lastAnswer(page)).length).toBeGreaterThan(0)
    await expect(page.getByTestId('chat-stop')).toBeVisible()

    await serve('b')
    await page.evaluate(() => globalThis.edgeswarm?.update.check())
    const bar = page.getByTestId('update-bar')
    await expect(bar).toBeVisible({ timeout: 30_000 })
    await expect(bar).toHaveAttribute('role', 'status')
    await expect(bar).toContainText('A new version is ready')
    const lengthAtPrompt = (await lastAnswer(page)).length
    // The answer goes on streaming under the prompt, in the same page.
    await expect.poll(async () => (await lastAnswer(page)).length).toBeGreaterThan(lengthAtPrompt)
    await expect(page.getByTestId('chat-stop')).toBeVisible()
    expect(await page.evaluate(() => (window as { updateMarker?: string }).updateMarker)).toBe('still build A')
    expect(await page.evaluate(() => globalThis.edgeswarm?.update.state())).toBe('ready')
    await expect(page.getByTestId('app-version')).toHaveText(versionA)

    await page.getByTestId('update-reload').click()
    await expect(page.getByTestId('app-version')).toContainText(buildB, { timeout: 30_000 })
    await readyNodeId(page)
    expect(await page.evaluate(() => (window as { updateMarker?: string }).updateMarker)).toBeUndefined()
    await expect(page.getByTestId('update-bar')).toBeHidden()
  } finally {
    await context.close()
  }
})

test('a tab of an older engine protocol that holds the model is named in the engine view, not shared with', async ({ browser }) => {
  if (!relay) throw new Error('the relay did not start')
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.goto(`${relay.baseUrl}${appPath(freshRoom('update-versions'), wasmTiny)}`)
    await readyAndAgreed(page, wasmTiny)
    await expectEngineState(page, 'ready', 60_000)
    await expect(page.getByTestId('engine-version-notice')).toBeHidden()
    // An old tab (protocol 2, which does not answer the handshake) of the same profile holds its lock of this model.
    const lockName = await page.evaluate(async () => (await navigator.locks.query()).held?.map((lock) => lock.name ?? '').find((name) => /^edgeswarm-engine:wasm:.*:v\d+$/.test(name)))
    expect(lockName).toBeTruthy()
    const oldTab = await context.newPage()
    await oldTab.goto(`${relay.baseUrl}/manifest.webmanifest`)
    await oldTab.evaluate((name) => void navigator.locks.request(name, () => new Promise(() => undefined)), (lockName ?? '').replace(/:v\d+$/, ':v2'))
    await page.reload()
    await readyNodeId(page)
    const notice = page.getByTestId('engine-version-notice')
    await expect(notice).toBeVisible({ timeout: 30_000 })
    await expect(notice).toContainText('runs an older version of edgeswarm')
    await expect(notice).toContainText('Reload that tab to share its model')
    // It still has a model of its own.
    await expectEngineState(page, 'ready', 60_000)
  } finally {
    await context.close()
  }
})

test('a tab that learns of a new version waits while another tab of the profile streams, then both move to it by themselves', async ({ browser }) => {
  if (!relay) throw new Error('the relay did not start')
  await serve('a')
  const room = freshRoom('update-tabs')
  const context = await browser.newContext()
  try {
    const idle = await context.newPage()
    await idle.goto(`${relay.baseUrl}${appPath(room, wasmTiny)}`)
    await readyAndAgreed(idle, wasmTiny)
    await idle.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 })
    await expectEngineState(idle, 'ready', 60_000)
    const streaming = await context.newPage()
    await streaming.goto(`${relay.baseUrl}${appPath(room, wasmTiny)}`)
    await readyNodeId(streaming)
    await expectEngineState(streaming, 'ready', 60_000)
    for (const page of [idle, streaming]) await page.evaluate(() => Object.assign(window, { updateMarker: 'still build A' }))
    await ask(streaming, 'Write a very long story about a lighthouse keeper.')
    await expect.poll(async () => (await lastAnswer(streaming)).length).toBeGreaterThan(0)

    await serve('b')
    await idle.evaluate(() => globalThis.edgeswarm?.update.check())
    await expect(idle.getByTestId('update-bar')).toBeVisible({ timeout: 30_000 })
    // The idle tab does not apply it while the other streams (it would reload that one too).
    const lengthAtPrompt = (await lastAnswer(streaming)).length
    await expect.poll(async () => (await lastAnswer(streaming)).length).toBeGreaterThan(lengthAtPrompt)
    expect(await idle.evaluate(() => globalThis.edgeswarm?.update.state())).toBe('ready')
    for (const page of [idle, streaming]) expect(await page.evaluate(() => (window as { updateMarker?: string }).updateMarker)).toBe('still build A')

    // Once the answer ends, no tab is busy: the update applies, and both tabs come up on build B.
    await streaming.getByTestId('chat-stop').click()
    for (const page of [idle, streaming]) await expect(page.getByTestId('app-version')).toContainText(buildB, { timeout: 30_000 })
    for (const page of [idle, streaming]) {
      await readyNodeId(page)
      expect(await page.evaluate(() => (window as { updateMarker?: string }).updateMarker)).toBeUndefined()
    }
  } finally {
    await context.close()
  }
})

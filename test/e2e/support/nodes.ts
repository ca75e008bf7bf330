import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readStockBundle } from './stock-bundle'

export interface AppNode {
  context: BrowserContext
  page: Page
  nodeId: string
}

export interface RoomRef {
  room: string
  key: string | null
}

/** A fresh room per test, so tests never see each other's peers. */
export function freshRoom(label: string): RoomRef {
  return { room: `${label}-${randomUUID().slice(0, 8)}`, key: randomUUID() }
}

export function appPath(ref: RoomRef, params: Record<string, string> = {}): string {
  const search = new URLSearchParams({ room: ref.room, peerTimeoutMs: '4000', ...params })
  return `/?${search.toString()}${ref.key === null ? '' : `#key=${encodeURIComponent(ref.key)}`}`
}

/** Opens the app in a new browser context (a separate profile) and waits until it is ready. */
export async function openNode(browser: Browser, ref: RoomRef, params: Record<string, string> = {}): Promise<AppNode> {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
  await page.goto(appPath(ref, params))
  const nodeId = await readyAndAgreed(page, params)
  return { context, page, nodeId }
}

/**
 * Waits until the page is ready and, when its params name a model, agrees to download it on the
 * test's behalf as a user does: presses Download in the engine view. A profile that agreed
 * before (a reload, a second tab of the context) loads without asking and needs none of this.
 */
export async function readyAndAgreed(page: Page, params: Record<string, string>): Promise<string> {
  const nodeId = await readyNodeId(page)
  if (params.model !== undefined && params.engine !== 'none') await agreeToDownload(page)
  return nodeId
}

/** Presses Download in the engine view (it shows once the page has measured the device). */
export async function agreeToDownload(page: Page): Promise<void> {
  await page.getByTestId('model-download').click()
}

export async function readyNodeId(page: Page): Promise<string> {
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
  return page.evaluate(() => {
    if (!globalThis.edgeswarm) throw new Error('edgeswarm API missing')
    return globalThis.edgeswarm.nodeId
  })
}

/** The node ids the swarm view lists as peers. */
export function listedPeers(page: Page): Promise<string[]> {
  return page.locator('[data-testid=peer][data-node-id]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-node-id') ?? '').sort())
}

export async function expectPeers(page: Page, nodeIds: string[], timeout = 10_000): Promise<void> {
  await expect.poll(() => listedPeers(page), { timeout }).toEqual([...nodeIds].sort())
}

/** The memory texts the memory view shows. */
export function listedMemory(page: Page): Promise<string[]> {
  return page.locator('[data-testid=memory-item-text]').allTextContents()
}

export async function expectMemory(page: Page, texts: string[], timeout = 10_000): Promise<void> {
  await expect.poll(async () => (await listedMemory(page)).sort(), { timeout }).toEqual([...texts].sort())
}

export async function addMemoryViaUi(page: Page, text: string, tags = ''): Promise<void> {
  await page.getByTestId('memory-text').fill(text)
  await page.getByTestId('memory-tags').fill(tags)
  await page.getByTestId('memory-add').click()
  await expect(page.getByTestId('memory-item-text').filter({ hasText: text })).toBeVisible()
}

export interface StockPage {
  context: BrowserContext
  page: Page
  close(): Promise<void>
}

/**
 * A plain page running only stock yjs + y-webrtc, served by a bare local HTTP server of its
 * own (a page of another origin, like any third-party Yjs program).
 */
export async function openStockPage(browser: Browser): Promise<StockPage> {
  const html = `<!doctype html><title>stock y-webrtc</title><script>${readStockBundle()}</script>`
  const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(html))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`http://127.0.0.1:${port}/`)
  return {
    context,
    page,
    close: async () => {
      await context.close()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

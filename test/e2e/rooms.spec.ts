import { expect, test, type Page } from '@playwright/test'
import { appPath, expectMemory, expectPeers, freshRoom, openNode, openStockPage, readyNodeId, type RoomRef } from './support/nodes'

const noEngine = { engine: 'none' }

async function openIn(page: Page, path: string): Promise<string> {
  await page.goto(path)
  return readyNodeId(page)
}

function shownRoom(page: Page): Promise<RoomRef> {
  return page.evaluate(() => {
    const url = new URL(location.href)
    return { room: url.searchParams.get('room') ?? '', key: new URLSearchParams(url.hash.slice(1)).get('key') }
  })
}

function roomDocNames(page: Page): Promise<string[]> {
  return page.evaluate(async () => (await indexedDB.databases()).flatMap((db) => (db.name?.startsWith('edgeswarm-room:') === true ? [db.name] : [])))
}

async function openRoomList(page: Page): Promise<void> {
  const toggle = page.getByTestId('rooms-toggle')
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click()
  await expect(page.getByTestId('rooms-view')).toBeVisible()
}

test.describe('rooms that stay', () => {
  test('a profile lands in its last room; the list shows it and a second one; rename, forget and ?new work', async ({ browser }) => {
    const context = await browser.newContext()
    const page = await context.newPage()
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
    const r = freshRoom('rooms-r')
    const s = freshRoom('rooms-s')
    try {
      await openIn(page, appPath(s, noEngine))
      await openIn(page, appPath(r, noEngine))
      await page.evaluate(() => globalThis.edgeswarm?.memory.add('a note kept in R'))

      // The installed app's start (`/`) opens R again: same name, same key, so the same doc.
      await openIn(page, '/?engine=none')
      expect(await shownRoom(page)).toEqual(r)
      expect(await page.evaluate(() => globalThis.edgeswarm?.room)).toBe(r.room)
      await expectMemory(page, ['a note kept in R'])
      // The "Last room" shortcut does the same.
      await openIn(page, '/?last&engine=none')
      expect(await shownRoom(page)).toEqual(r)

      // A peer that joins R is counted once, under "peers seen".
      const peer = await openNode(browser, r, noEngine)
      try {
        await expectPeers(page, [peer.nodeId], 25_000)
      } finally {
        await peer.context.close()
      }
      await openRoomList(page)
      const rows = page.getByTestId('room-row')
      await expect(rows).toHaveCount(2)
      const rowR = page.locator(`[data-testid=room-row][data-room="${r.room}"]`)
      await expect(rowR).toContainText('open now')
      await expect(rowR).toContainText('1 peer seen')
      await expect(rowR).toContainText('1 memory')
      await expect(rowR.getByTestId('room-forget')).toHaveCount(0)
      const rowS = page.locator(`[data-testid=room-row][data-room="${s.room}"]`)
      await expect(rowS).toContainText('open just now')
      await expect(rowS).toContainText('0 peers seen · 0 memories')
      // The room open last comes first.
      await expect(rows.first()).toHaveAttribute('data-room', r.room)

      // Rename is local and stays.
      await rowS.getByTestId('room-rename').click()
      await page.getByTestId('room-rename-input').fill('Second room')
      await page.getByTestId('room-rename-save').click()
      await expect(rowS.getByTestId('room-row-name')).toHaveText('Second room')
      await page.reload()
      await readyNodeId(page)
      await openRoomList(page)
      await expect(rowS.getByTestId('room-row-name')).toHaveText('Second room')
      // Its link opens S, with its key.
      expect(await rowS.getByTestId('room-row-name').getAttribute('href')).toContain(`room=${s.room}`)

      // Forget asks first, then drops S from the list and deletes its local doc.
      const docsBefore = await roomDocNames(page)
      expect(docsBefore.filter((name) => name.startsWith(`edgeswarm-room:${s.room}:`))).toHaveLength(1)
      await rowS.getByTestId('room-forget').click()
      await expect(rowS).toContainText('Forget "Second room"?')
      await rowS.getByTestId('room-forget-confirm').click()
      await expect(rows).toHaveCount(1)
      await expect.poll(async () => (await roomDocNames(page)).filter((name) => name.startsWith(`edgeswarm-room:${s.room}:`))).toEqual([])
      expect((await roomDocNames(page)).filter((name) => name.startsWith(`edgeswarm-room:${r.room}:`))).toHaveLength(1)

      // "New room" (?new) makes a new room with a new key; `/` then lands in it.
      const href = await page.getByTestId('room-new').getAttribute('href')
      expect(href).toContain('new')
      await page.getByTestId('room-new').click()
      await readyNodeId(page)
      const fresh = await shownRoom(page)
      expect(fresh.room).not.toBe(r.room)
      expect(fresh.key).not.toBeNull()
      expect(new URL(page.url()).searchParams.has('new')).toBe(false)
      await openIn(page, '/?engine=none')
      expect(await shownRoom(page)).toEqual(fresh)
      await openRoomList(page)
      await expect(rows).toHaveCount(2)
    } finally {
      await context.close()
    }
  })

  test('a shared text opens in the last room and "Save to memory" puts it in the room memory; empty and oversize shares are refused', async ({ browser }) => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const r = freshRoom('rooms-share')
    try {
      // A share with no room yet opens a new room.
      await openIn(page, '/share?text=&engine=none')
      await expect(page.getByTestId('share-problem')).toHaveText('Nothing was shared: the item has no text or link.')
      await expect(page.getByTestId('share-save')).toBeDisabled()
      await page.getByTestId('share-close').click()
      await expect(page.getByTestId('share-dialog')).toHaveCount(0)
      expect((await shownRoom(page)).room).toMatch(/^swarm-/)

      await openIn(page, appPath(r, noEngine))
      const shared = 'The relay keeps room replicas in RELAY_DATA_DIR'
      await openIn(page, `/share?title=${encodeURIComponent('Ops notes')}&text=${encodeURIComponent(shared)}&url=${encodeURIComponent('https://example.com/ops')}&engine=none`)
      expect(await shownRoom(page)).toEqual(r)
      expect(new URL(page.url()).pathname).toBe('/')
      await expect(page.getByTestId('share-text')).toHaveValue(`Ops notes\n${shared}\nhttps://example.com/ops`)
      await page.getByTestId('share-save').click()
      await expect(page.getByTestId('share-dialog')).toHaveCount(0)
      await expectMemory(page, [`Ops notes\n${shared}\nhttps://example.com/ops`])
      const tags = await page.evaluate(async () => (await globalThis.edgeswarm?.memory.list())?.map((item) => item.tags))
      expect(tags).toEqual([['shared']])

      // The installed app offline: the service worker serves the app for /share too.
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 })
      await context.setOffline(true)
      await openIn(page, `/share?text=${encodeURIComponent('shared while offline')}&engine=none`)
      expect(await shownRoom(page)).toEqual(r)
      await page.getByTestId('share-save').click()
      await expectMemory(page, [`Ops notes\n${shared}\nhttps://example.com/ops`, 'shared while offline'])
      await context.setOffline(false)

      // Too long for one memory entry: Save is refused with the reason, Summarize still offered.
      await openIn(page, `/share?text=${'long '.repeat(1_700)}&engine=none`)
      await expect(page.getByTestId('share-problem')).toContainText('Too long for one memory entry')
      await expect(page.getByTestId('share-save')).toBeDisabled()
      await expect(page.getByTestId('share-summarize')).toBeEnabled()
      await page.getByTestId('share-summarize').click()
      await expect(page.getByTestId('summarize-input')).toHaveValue('long '.repeat(1_700).trim())
      await expect(page.getByTestId('summarize-status')).not.toBeEmpty()

      // "Ask the swarm" puts it in the chat on the swarm route and sends it.
      await openIn(page, `/share?text=${encodeURIComponent('What is in the replica?')}&engine=none`)
      await page.getByTestId('share-ask').click()
      await expect(page.getByTestId('chat-route')).toHaveValue('swarm')
      await expect(page.getByTestId('msg-user').last()).toContainText('What is in the replica?')
    } finally {
      await context.close()
    }
  })

  test('a .md file opened with the app goes to "Summarize with the swarm"; an empty or foreign file is told', async ({ browser }) => {
    const context = await browser.newContext()
    // Only an installed app receives launches: the page's own launchQueue stands in for the browser's, and hands over real files.
    await context.addInitScript(() => {
      const consumers: ((params: { files: FileSystemHandle[] }) => void)[] = []
      Object.defineProperty(window, 'launchQueue', { value: { setConsumer: (consumer: (params: { files: FileSystemHandle[] }) => void) => consumers.push(consumer) } })
      Object.defineProperty(window, 'launchFiles', {
        value: async (files: Record<string, string>) => {
          const dir = await navigator.storage.getDirectory()
          const handles: FileSystemHandle[] = []
          for (const [name, text] of Object.entries(files)) {
            const handle = await dir.getFileHandle(name, { create: true })
            const writable = await handle.createWritable()
            await writable.write(text)
            await writable.close()
            handles.push(handle)
          }
          for (const consumer of consumers) consumer({ files: handles })
        },
      })
    })
    const page = await context.newPage()
    try {
      await openIn(page, '/open-file?engine=none')
      expect(new URL(page.url()).pathname).toBe('/')
      await page.evaluate(() =>
        (window as unknown as { launchFiles(files: Record<string, string>): Promise<void> }).launchFiles({
          'empty.md': '',
          'photo.png': 'x',
          'notes.md': '# Notes\n\nThe swarm shares one doc per room.',
        }),
      )
      await expect(page.getByTestId('notice-error').filter({ hasText: 'empty.md is empty' })).toBeVisible()
      await expect(page.getByTestId('notice-error').filter({ hasText: 'photo.png is not a text or Markdown file' })).toBeVisible()
      await expect(page.getByTestId('summarize-input')).toHaveValue('# Notes\n\nThe swarm shares one doc per room.')
      await expect(page.getByTestId('summarize-status')).not.toBeEmpty()
    } finally {
      await context.close()
    }
  })

  test('a member that shows an unverified presence is not counted among the peers seen', async ({ browser, baseURL }) => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const stock = await openStockPage(browser)
    const r = freshRoom('rooms-hostile')
    const fakeId = 'f'.repeat(20)
    try {
      await openIn(page, appPath(r, noEngine))
      const signalingUrl = (baseURL ?? '').replace(/^http/, 'ws') + '/signal'
      await stock.page.evaluate(({ room, key, signalingUrl }) => globalThis.stock.start(room, key, signalingUrl), { room: r.room, key: r.key, signalingUrl })
      // A state of another protocol version under a node id of its choosing: listed, never verified.
      await stock.page.evaluate((nodeId) => globalThis.stock.present({ proto: 4, nodeId }), fakeId)
      await expect.poll(() => page.evaluate((nodeId) => globalThis.edgeswarm?.peers().find((peer) => peer.id === nodeId)?.compatible, fakeId), { timeout: 25_000 }).toBe(false)
      await openRoomList(page)
      await expect(page.locator(`[data-testid=room-row][data-room="${r.room}"]`)).toContainText('0 peers seen')
    } finally {
      await stock.close()
      await context.close()
    }
  })

  test('the relay and the manifest serve the share target, the file handler and the shortcuts', async ({ request }) => {
    for (const path of ['/share?text=hi', '/open-file', '/?new', '/?last']) {
      const response = await request.get(path)
      expect(response.status(), path).toBe(200)
      expect(response.headers()['content-type'], path).toContain('text/html')
    }
    const manifest = (await (await request.get('/manifest.webmanifest')).json()) as Record<string, unknown>
    expect(manifest).toMatchObject({
      id: '/',
      scope: '/',
      start_url: '/',
      share_target: { action: '/share', method: 'GET', params: { title: 'title', text: 'text', url: 'url' } },
      file_handlers: [{ action: '/open-file', accept: { 'text/plain': ['.txt'], 'text/markdown': ['.md', '.markdown'] } }],
    })
    expect((manifest.shortcuts as { url: string }[]).map((shortcut) => shortcut.url)).toEqual(['/?last', '/?new'])
    for (const screenshot of manifest.screenshots as { src: string; form_factor: string }[]) {
      const image = await request.get(screenshot.src)
      expect(image.status(), screenshot.src).toBe(200)
      expect(image.headers()['content-type']).toBe('image/png')
    }
    expect((manifest.screenshots as { form_factor: string }[]).map((screenshot) => screenshot.form_factor)).toEqual(['wide', 'narrow'])
  })
})

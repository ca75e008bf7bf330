import { expect, test, type Page } from '@playwright/test'
import { appPath, freshRoom, readyNodeId } from './support/nodes'

/** Fills the origin's quota with a database of its own, in ever smaller pieces, until not a byte more fits. */
function fillQuota(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('filler', 1)
      open.onupgradeneeded = () => open.result.createObjectStore('s')
      open.onsuccess = () => resolve(open.result)
      open.onerror = () => reject(open.error ?? new Error('no filler database'))
    })
    let key = 0
    for (const size of [256 * 1024, 16 * 1024, 1024, 64]) {
      for (;;) {
        const stored = await new Promise<boolean>((resolve) => {
          const tx = db.transaction('s', 'readwrite')
          // Random bytes: nothing the store could compress away (getRandomValues gives 64 KiB a call).
          const bytes = new Uint8Array(size)
          for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)))
          tx.objectStore('s').put(bytes, key++)
          tx.oncomplete = () => resolve(true)
          tx.onabort = () => resolve(false)
        })
        if (!stored) break
      }
    }
    db.close()
    return key
  })
}

test("a full disk is told, and what the user wrote stays on screen: IndexedDB's quota, for real", async ({ browser, baseURL }) => {
  const context = await browser.newContext(baseURL === undefined ? {} : { baseURL })
  try {
    const page = await context.newPage()
    // Chromium's quota for this origin, set before its first visit (later overrides do not take): 4 MiB.
    const cdp = await context.newCDPSession(page)
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(baseURL ?? '').origin, quotaSize: 4 * 1024 * 1024 })
    await page.goto(appPath(freshRoom('quota')))
    await readyNodeId(page)
    expect(await fillQuota(page)).toBeGreaterThan(10)

    const text = 'a note the disk has no room for'
    await page.getByTestId('memory-text').fill(text)
    await page.getByTestId('memory-add').click()
    // The entry is in the room (this page lists it, its peers would have it)…
    await expect(page.getByTestId('memory-item').filter({ hasText: text })).toHaveAttribute('data-trust', 'trusted')
    // …and the user is told it is not kept on this device, with the text still in the box.
    await expect(page.locator('.memory-form .form-error')).toContainText('storage is full')
    await expect(page.getByTestId('memory-text')).toHaveValue(text)
    await expect(page.getByTestId('notice-error').filter({ hasText: "the room's latest changes could not be saved on this device" })).toBeVisible()

    // Settings: the save is refused out loud, and the page does not reload with the choice lost.
    await page.getByText('Engine settings').click()
    await page.getByTestId('settings-save').click()
    await expect(page.getByTestId('notice-error').filter({ hasText: 'engine settings could not be saved' })).toBeVisible()
    await expect(page.getByTestId('memory-text')).toHaveValue(text)
  } finally {
    await context.close()
  }
})

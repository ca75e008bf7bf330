// What checking a model's hash costs a download: the downloader's incremental SHA-256 (pure
// TypeScript, as WebCrypto hashes only whole buffers) in the page and in Node against WebCrypto
// and node:crypto, and the resumable download of the 120 MB bench model from the local relay
// with and without its pin. Hashing runs in the download's read loop: the figure to read is
// whether the download with the pin keeps up with the one without.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { chromium } from '@playwright/test'
import { Sha256 } from '../../src/shared/sha256'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { openHarness } from './harness-page'
import { startRelay } from './relay-process'
import { fmt, median, table } from './stats'

const hashMegabytes = 64
const runs = 3
const benchModel = '/models/bench-qwen3.gguf'

function nodeHashTimes(): { incrementalMs: number; nativeMs: number } {
  const data = new Uint8Array(hashMegabytes * 1024 * 1024).map((_, index) => (index * 2654435761) >>> 24)
  let startMs = performance.now()
  const hasher = new Sha256()
  for (let offset = 0; offset < data.length; offset += 65_536) hasher.update(data.subarray(offset, offset + 65_536))
  hasher.hex()
  const incrementalMs = performance.now() - startMs
  startMs = performance.now()
  createHash('sha256').update(data).digest()
  return { incrementalMs, nativeMs: performance.now() - startMs }
}

export async function benchVerified(): Promise<void> {
  const mbPerS = (megabytes: number, ms: number): string => fmt(megabytes / (ms / 1000), 0)
  const node = Array.from({ length: runs }, nodeHashTimes)
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist-harness', RELAY_MODELS_DIR: 'test/fixtures' })
  const browser = await chromium.launch(chromiumLaunchOptions())
  try {
    const { context, page } = await openHarness(browser, relay)
    const inPage = []
    for (let run = 0; run < runs; run++) inPage.push(await page.evaluate((megabytes) => globalThis.harness.hashTimes(megabytes), hashMegabytes))
    table(
      `SHA-256 of ${hashMegabytes} MB, median of ${runs} (MB/s)`,
      ['where', 'incremental (ours)', 'one-shot (WebCrypto / node:crypto)'],
      [
        ['Chromium page', mbPerS(hashMegabytes, median(inPage.map((times) => times.incrementalMs))), mbPerS(hashMegabytes, median(inPage.map((times) => times.webCryptoMs)))],
        ['Node', mbPerS(hashMegabytes, median(node.map((times) => times.incrementalMs))), mbPerS(hashMegabytes, median(node.map((times) => times.nativeMs)))],
      ],
    )
    const model = readFileSync('test/fixtures/bench-qwen3.gguf')
    const pinned = [{ sha256: createHash('sha256').update(model).digest('hex'), bytes: model.byteLength }]
    const megabytes = model.byteLength / 1024 / 1024
    const rows: string[][] = []
    for (const [label, pins] of [
      ['without a pin', []],
      ['with its SHA-256 pinned', pinned],
    ] as const) {
      const times: number[] = []
      for (let run = 0; run < runs; run++) {
        await page.evaluate(() => globalThis.harness.deleteDownloads())
        const startMs = Date.now()
        const result = await page.evaluate(([url, files]) => globalThis.harness.download(url, Number.POSITIVE_INFINITY, [...files]), [benchModel, pins] as const)
        if (result.error !== null) throw new Error(result.error)
        times.push(Date.now() - startMs)
      }
      rows.push([label, fmt(median(times) / 1000, 2), mbPerS(megabytes, median(times))])
    }
    table(`Resumable download of ${fmt(megabytes, 0)} MB from the local relay into OPFS, median of ${runs}`, ['download', 's', 'MB/s'], rows)
    await page.evaluate(() => globalThis.harness.deleteDownloads())
    await context.close()
  } finally {
    await browser.close()
    await relay.stop()
  }
}

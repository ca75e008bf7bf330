import { expect, test, type Page } from '@playwright/test'
import type { MemoryHit } from '../../src/memory/store'
import { expectPeers, freshRoom, openNode } from './support/nodes'

// Memory search end to end: the real app, the real embedding worker (wllama running the
// generated random-weight bert + XLM-R unigram GGUF, the production model's kind), real
// IndexedDB and OPFS. Random weights carry no meaning, but identical text gives an identical
// embedding: an exact-text query is the vector ranking's first hit with cosine 1.

const params = { engine: 'none', embedModel: '/models/tiny-embedding.gguf' }

async function turnOn(page: Page): Promise<void> {
  await page.getByTestId('memory-search-toggle').check()
  await expect(page.getByTestId('memory-search-consent')).toBeVisible()
  await page.getByTestId('memory-search-accept').click()
  await waitIndexed(page)
}

async function waitIndexed(page: Page): Promise<void> {
  await page.waitForFunction(() => globalThis.edgeswarm?.memory.semantic.state().phase === 'on', undefined, { timeout: 60_000 })
  await page.evaluate(() => globalThis.edgeswarm?.memory.semantic.settled())
}

async function search(page: Page, query: string, k = 5): Promise<MemoryHit[]> {
  return (await page.evaluate(([q, count]) => globalThis.edgeswarm?.memory.search(q, { k: count }), [query, k] as const)) ?? []
}

test('memory search: keyword and vector hits, re-embedding on edit, dropping on delete, embeddings kept across a reload', async ({ browser }) => {
  test.setTimeout(180_000)
  const node = await openNode(browser, freshRoom('memsearch'), params)
  const { page } = node
  const texts = [
    'The relay listens on port 8787 by default',
    'Der Schlüssel des Raums steht im Fragment der Adresse',
    'Les pairs échangent la mémoire par WebRTC',
    'Qwen3 runs in the browser through WebGPU',
  ]
  const ids: string[] = []
  for (const text of texts) ids.push((await page.evaluate((t) => globalThis.edgeswarm?.memory.add(t), text)) ?? '')

  // Off: keyword search only, no ranks of a fusion.
  const before = await search(page, 'relay')
  expect(before.map((hit) => hit.text)).toEqual([texts[0]])
  expect(before[0]?.vectorRank).toBeUndefined()
  expect(await page.getByTestId('memory-search-status').textContent()).toContain('words only')

  await turnOn(page)
  expect(await page.evaluate(() => globalThis.edgeswarm?.memory.semantic.state())).toMatchObject({ phase: 'on', indexed: 4, pending: 0, embedded: 4 })

  // By keyword: a word of the text.
  const byWord = await search(page, 'relay')
  expect(byWord[0]?.text).toBe(texts[0])
  expect(byWord[0]?.keywordRank).toBe(1)

  // Through the vector path: the exact text is the nearest entry, cosine 1.
  for (const [index, text] of texts.entries()) {
    const hits = await search(page, text, 4)
    const hit = hits.find((candidate) => candidate.id === ids[index])
    expect(hit?.vectorRank, text).toBe(1)
    expect(hit?.cosine).toBeGreaterThan(0.9999)
    expect(hits[0]?.id).toBe(ids[index])
    // Every entry has a nearness: the vector ranking lists them all.
    expect(hits.filter((candidate) => candidate.vectorRank !== undefined)).toHaveLength(4)
  }

  // The memory view searches the same way.
  await page.getByTestId('memory-search').fill(texts[1] ?? '')
  await expect(page.getByTestId('memory-item-text').first()).toHaveText(texts[1] ?? '')

  // An edited entry is re-embedded: a new version, and its new text is what the vector path finds.
  const edited = 'Der Schlüssel bleibt im Browser und erreicht keinen Server'
  const versionBefore = await page.evaluate((id) => globalThis.edgeswarm?.memory.semantic.indexedVersion(id), ids[1] ?? '')
  await page.evaluate(([id, text]) => globalThis.edgeswarm?.memory.update(id, text), [ids[1] ?? '', edited] as const)
  await expect.poll(() => page.evaluate((id) => globalThis.edgeswarm?.memory.semantic.indexedVersion(id), ids[1] ?? '')).not.toBe(versionBefore)
  await page.evaluate(() => globalThis.edgeswarm?.memory.semantic.settled())
  const afterEdit = await search(page, edited, 4)
  expect(afterEdit[0]).toMatchObject({ id: ids[1], vectorRank: 1 })
  expect(afterEdit[0]?.cosine).toBeGreaterThan(0.9999)
  expect(await page.evaluate(() => globalThis.edgeswarm?.memory.semantic.state())).toMatchObject({ indexed: 4, embedded: 5 })

  // A deleted entry leaves the index.
  await page.evaluate((id) => globalThis.edgeswarm?.memory.remove(id), ids[3] ?? '')
  await expect.poll(() => page.evaluate((id) => globalThis.edgeswarm?.memory.semantic.indexedVersion(id), ids[3] ?? '')).toBeUndefined()
  const versions = await page.evaluate((list) => list.map((id) => globalThis.edgeswarm?.memory.semantic.indexedVersion(id)), ids)

  // After a reload memory search comes back on by itself (the model from OPFS), and the vectors
  // from IndexedDB: nothing is embedded again.
  await page.reload()
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
  await waitIndexed(page)
  expect(await page.evaluate(() => globalThis.edgeswarm?.memory.semantic.state())).toMatchObject({ phase: 'on', indexed: 3, pending: 0, embedded: 0 })
  expect(await page.evaluate((list) => list.map((id) => globalThis.edgeswarm?.memory.semantic.indexedVersion(id)), ids)).toEqual(versions)
  const afterReload = await search(page, texts[2] ?? '', 3)
  expect(afterReload[0]).toMatchObject({ id: ids[2], vectorRank: 1 })

  // Off again: keyword only.
  await page.getByTestId('memory-search-toggle').uncheck()
  await page.waitForFunction(() => globalThis.edgeswarm?.memory.semantic.state().phase === 'off')
  expect((await search(page, 'pairs'))[0]?.vectorRank).toBeUndefined()
  await node.context.close()
})

test("a peer's entry, arrived over WebRTC, is embedded and found through the vector path", async ({ browser }) => {
  test.setTimeout(120_000)
  const ref = freshRoom('memsearch-peers')
  const [a, b] = [await openNode(browser, ref, params), await openNode(browser, ref, params)]
  await expectPeers(a.page, [b.nodeId], 30_000)
  await turnOn(b.page)
  const text = 'Node A weiß: la clé reste dans le navigateur'
  const id = (await a.page.evaluate((t) => globalThis.edgeswarm?.memory.add(t), text)) ?? ''
  await expect.poll(() => b.page.evaluate((entry) => globalThis.edgeswarm?.memory.semantic.indexedVersion(entry), id), { timeout: 30_000 }).toBeDefined()
  const hits = await search(b.page, text, 3)
  expect(hits[0]).toMatchObject({ id, author: a.nodeId, vectorRank: 1 })
  expect(hits[0]?.cosine).toBeGreaterThan(0.9999)
  await Promise.all([a.context.close(), b.context.close()])
})

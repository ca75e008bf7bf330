// Long conversations: a 40-turn chat far past a small forced window (ctx=512) keeps answering,
// on this node's wasm engine and through a peer, with the trimming shown in the chat; and the
// wasm engine's token count is llama.cpp's own (wllama's usage.prompt_tokens).
import { expect, test, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { BpeTokenizer } from '../../src/inference/tokenizer/bpe'
import { readGgufHeader } from '../../src/inference/tokenizer/gguf-header'
import { harnessURL } from '../../playwright.config'
import { expectEngineState, tinyModel } from './support/chat'
import { expectPeers, freshRoom, openNode } from './support/nodes'

const window = 512
const turns = 40

/** Asks `turns` questions one after another on `route`, each answered before the next. */
async function longChat(page: Page, route: 'local' | 'swarm'): Promise<void> {
  await page.getByTestId('chat-route').selectOption(route)
  for (let turn = 1; turn <= turns; turn++) {
    await page.getByTestId('chat-input').fill(`Turn ${turn}: tell me about the history of the city, the river and the people who live there, in detail.`)
    await page.getByTestId('chat-send').click()
    await expect(page.getByTestId('msg-meta')).toHaveCount(turn, { timeout: 60_000 })
    await expect(page.getByTestId('chat-send')).toBeEnabled({ timeout: 60_000 })
  }
}

async function expectKeptAnswering(page: Page): Promise<void> {
  await expect(page.getByTestId('msg-error')).toHaveCount(0)
  const answers = await page.getByTestId('msg-answer').allTextContents()
  expect(answers).toHaveLength(turns)
  expect(answers.at(-1)?.length ?? 0).toBeGreaterThan(10)
  const fits = await page.getByTestId('msg-fit').allTextContents()
  // The window overflows after a few turns; from then on every answer says how it was fitted,
  // and once a summary is kept it stands in for the oldest turns.
  expect(fits.length).toBeGreaterThan(turns - 10)
  for (const fit of fits) expect(fit).toMatch(new RegExp(`^\\d+ earlier turns (summarised|dropped)(, \\d+ dropped)? to fit ${window} tokens`))
  expect(fits.some((fit) => fit.includes('summarised'))).toBe(true)
}

test('the wasm engine counts a prompt exactly as llama.cpp does (usage.prompt_tokens)', async ({ page }) => {
  await page.goto(`${harnessURL}/`)
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
  const outcome = await page.evaluate(async () => {
    const engine = globalThis.harness.createWasmEngine('/models/tiny-qwen3.gguf', { contextSize: 2048 })
    await engine.load(() => undefined)
    const cases = [
      [{ role: 'user', content: 'What is the capital of France?' }],
      [
        { role: 'system', content: 'You are terse. Réponds en français — 東京 🙂' },
        { role: 'user', content: 'function add(a, b) {\n  return a + b\n}\nWhat does it do with 12345?' },
        { role: 'assistant', content: 'It adds the two numbers.' },
        { role: 'user', content: "And if they're strings?" },
      ],
    ] as const
    const rows = []
    for (const messages of cases) {
      const count = await engine.countTokens?.([...messages])
      let prompt = 0
      for await (const chunk of engine.chat({ messages: [...messages], max_tokens: 2, enable_thinking: true })) if (chunk.usage) prompt = chunk.usage.prompt_tokens
      rows.push({ counted: (count?.perMessage ?? []).reduce((a, b) => a + b, 0), exact: count?.exact, prompt, contextSize: engine.info().contextSize })
    }
    await engine.unload()
    return rows
  })
  // After the messages, the template's generation prompt: `<|im_start|>assistant\n`.
  const tokenizer = new BpeTokenizer(await readGgufHeader(new Blob([readFileSync('test/fixtures/tiny-qwen3.gguf')])))
  const generationPrompt = tokenizer.count('<|im_start|>assistant\n')
  for (const row of outcome) {
    expect(row.exact).toBe(true)
    expect(row.contextSize).toBe(2048)
    expect(row.prompt).toBe(row.counted + generationPrompt)
  }
})

test('a 40-turn conversation far past the window keeps answering on the wasm engine, with the trimming shown', async ({ browser }) => {
  test.setTimeout(300_000)
  const a = await openNode(browser, freshRoom('long-local'), { engine: 'wasm', model: tinyModel, ctx: String(window) })
  try {
    await expectEngineState(a.page, 'ready')
    await longChat(a.page, 'local')
    await expectKeptAnswering(a.page)
    await expect(a.page.getByTestId('msg-meta').last()).toContainText('this node')
    // The summary is kept with the conversation: after a reload the next answer uses it.
    await a.page.reload()
    await a.page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    await expectEngineState(a.page, 'ready')
    await a.page.getByTestId('chat-route').selectOption('local')
    await a.page.getByTestId('chat-input').fill('One more question after the reload?')
    await a.page.getByTestId('chat-send').click()
    await expect(a.page.getByTestId('msg-meta')).toHaveCount(turns + 1, { timeout: 60_000 })
    await expect(a.page.getByTestId('msg-fit').last()).toContainText(/^\d+ earlier turns summarised/)
  } finally {
    await a.context.close()
  }
})

test('a 40-turn conversation keeps answering through a peer, fitted to the window the peer advertises', async ({ browser }) => {
  test.setTimeout(420_000)
  const room = freshRoom('long-peer')
  const peer = await openNode(browser, room, { engine: 'wasm', model: tinyModel, ctx: String(window) })
  const asker = await openNode(browser, room, { engine: 'none' })
  try {
    await expectEngineState(peer.page, 'ready')
    await expectPeers(asker.page, [peer.nodeId], 20_000)
    await expect.poll(() => asker.page.evaluate((id) => globalThis.edgeswarm?.peers().find((p) => p.id === id)?.engine?.contextSize, peer.nodeId), { timeout: 20_000 }).toBe(window)
    await longChat(asker.page, 'swarm')
    await expectKeptAnswering(asker.page)
    await expect(asker.page.getByTestId('msg-meta').last()).toHaveAttribute('data-node-id', peer.nodeId)
  } finally {
    await asker.context.close()
    await peer.context.close()
  }
})

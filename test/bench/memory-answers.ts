// "Answers that use the room's memory": time to first token on this node's WASM engine with and
// without the room's memory quoted into the prompt, runs alternating side by side in one tab.
import { chromium } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { appPath, freshRoom, readyNodeId } from '../e2e/support/nodes'
import { startRelay } from './relay-process'
import { fmt, median, table } from './stats'

const model = process.env.BENCH_ANSWERS_MODEL ?? 'bench-qwen3.gguf'
const entries = 500
const matching = 8
const runs = 5
const quoteK = 5
const readyTimeoutMs = 180_000

interface Sample {
  firstTokenMs: number
  promptTokens: number
  quoteMs: number
}

export async function benchMemoryAnswers(): Promise<void> {
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: 'test/fixtures' })
  const browser = await chromium.launch(chromiumLaunchOptions())
  try {
    const page = await (await browser.newContext({ baseURL: relay.url })).newPage()
    await page.goto(appPath(freshRoom('bench-answers'), { engine: 'wasm', model: `/models/${model}` }))
    await readyNodeId(page)
    await page.waitForFunction(() => document.querySelector('[data-engine-state=ready]') !== null, undefined, { timeout: readyTimeoutMs, polling: 200 })
    // A memory of `entries` notes, `matching` of them about the question's words.
    await page.evaluate(
      async ({ entries, matching }) => {
        for (let i = 0; i < entries; i++) {
          const text = i < matching ? `Note ${i}: the Zorbania capital moved to Quuxville in year ${1900 + i}.` : `Note ${i}: unrelated fact number ${i} about the weather and the tides.`
          await globalThis.edgeswarm?.memory.add(text)
        }
      },
      { entries, matching },
    )
    const measure = (session: string, quote: boolean): Promise<Sample> =>
      page.evaluate(
        async ({ session, quote, quoteK }) => {
          const content = 'Zorbania capital?'
          const api = globalThis.edgeswarm
          if (!api) throw new Error('no API')
          const searchStarted = performance.now()
          if (quote) await api.memory.search(content, { k: quoteK })
          const quoteMs = quote ? performance.now() - searchStarted : 0
          const startedMs = performance.now()
          let firstTokenMs = 0
          let promptTokens = 0
          const request = {
            messages: [
              { role: 'system' as const, content: `Session ${session}.` },
              { role: 'user' as const, content },
            ],
            max_tokens: 8,
            temperature: 0,
            enable_thinking: false,
            route: 'local' as const,
            ...(quote ? { memory: { k: quoteK } } : {}),
          }
          for await (const chunk of api.chat(request)) {
            if (!firstTokenMs && chunk.choices[0].delta.content) firstTokenMs = performance.now() - startedMs
            if (chunk.usage) promptTokens = chunk.usage.prompt_tokens
          }
          return { firstTokenMs, promptTokens, quoteMs }
        },
        { session, quote, quoteK },
      )
    // A warm-up of each, then alternating runs; each prompt starts with its own session line, so no run reuses another's cache.
    await measure('0', false)
    await measure('0q', true)
    const plain: Sample[] = []
    const quoted: Sample[] = []
    for (let run = 1; run <= runs; run++) {
      plain.push(await measure(`${run}`, false))
      quoted.push(await measure(`${run}q`, true))
    }
    const row = (label: string, samples: Sample[]): string[] => [
      label,
      fmt(median(samples.map((sample) => sample.firstTokenMs))),
      fmt(median(samples.map((sample) => sample.promptTokens)), 0),
      fmt(median(samples.map((sample) => sample.quoteMs)), 1),
      String(samples.length),
    ]
    table(
      `Time to first token with and without memory quoting (WASM engine, ${model}, ${entries} memory entries, k = ${quoteK}, local route)`,
      ['prompt', 'first token p50 ms', 'prompt tokens', 'search alone p50 ms', 'runs'],
      [row('question only', plain), row(`question + ${quoteK} quoted entries`, quoted)],
    )
  } finally {
    await browser.close()
    await relay.stop()
  }
}

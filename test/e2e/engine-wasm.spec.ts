import { expect, test, type Page } from '@playwright/test'
import { harnessURL } from '../../playwright.config'
import { runEngineContract } from '../contracts/engine'
import type { WllamaName } from '../harness/main'

// The app's wllama, and the newer one beside it (the bench compares their speed): both must pass.
for (const [wllama, name] of [
  ['app', 'wasm (wllama, tiny Qwen3 GGUF)'],
  ['next', 'wasm (wllama-next, tiny Qwen3 GGUF)'],
] as const satisfies readonly (readonly [WllamaName, string])[]) {
  runEngineContract(name, {
    open: async (page) => {
      await page.goto(`${harnessURL}/`)
      await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
      await page.evaluate((wllama) => globalThis.harness.createWasmEngine('/models/tiny-qwen3.gguf', { contextSize: 1024, wllama }), wllama)
      return undefined
    },
  })
}

// Threads: on a cross-origin isolated page llama.cpp really runs on the threads asked for (the
// multi-thread path: SharedArrayBuffer, wllama's pthread pool); without isolation (a host that
// drops COOP/COEP) the same request falls back to one thread and still answers.
const threadsSeen = (page: Page, wllama: WllamaName): Promise<{ isolated: boolean; threads: number | null; answered: boolean }> =>
  page.evaluate(async (wllama) => {
    const engine = globalThis.harness.createWasmEngine('/models/tiny-qwen3.gguf', { contextSize: 512, threads: 2, wllama })
    try {
      await engine.load(() => undefined)
      let text = ''
      for await (const chunk of engine.chat({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, temperature: 0 })) text += chunk.choices[0].delta.content ?? ''
      return { isolated: globalThis.crossOriginIsolated, threads: engine.info().threads ?? null, answered: text.length > 0 || engine.info().decodeTokensPerS > 0 }
    } finally {
      await engine.unload()
    }
  }, wllama)

for (const wllama of ['app', 'next'] as const) {
  test.describe(`wasm engine threads (${wllama})`, () => {
    test('a cross-origin isolated page runs llama.cpp on the 2 threads asked for', async ({ page }) => {
      await page.goto(`${harnessURL}/`)
      await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
      expect(await threadsSeen(page, wllama)).toEqual({ isolated: true, threads: 2, answered: true })
    })

    test('without cross-origin isolation it falls back to one thread and still answers', async ({ page }) => {
      // The same harness from a host that sends no COOP/COEP: no SharedArrayBuffer, no pthreads.
      await page.context().route(`${harnessURL}/**`, async (route) => {
        const response = await route.fetch()
        const headers = { ...response.headers() }
        delete headers['cross-origin-opener-policy']
        delete headers['cross-origin-embedder-policy']
        await route.fulfill({ response, headers })
      })
      await page.goto(`${harnessURL}/`)
      await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
      expect(await threadsSeen(page, wllama)).toEqual({ isolated: false, threads: 1, answered: true })
    })
  })
}

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

import { harnessURL } from '../../playwright.config'
import { runEngineContract } from '../contracts/engine'

runEngineContract('wasm (wllama, tiny Qwen3 GGUF)', {
  open: async (page) => {
    await page.goto(`${harnessURL}/`)
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    await page.evaluate(() => globalThis.harness.createWasmEngine('/models/tiny-qwen3.gguf', { contextSize: 1024 }))
    return undefined
  },
})

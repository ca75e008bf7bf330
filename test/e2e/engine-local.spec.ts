import { harnessURL } from '../../playwright.config'
import { runEngineContract } from '../contracts/engine'

runEngineContract('local (LocalEngine, engine=wasm, tiny Qwen3 GGUF)', {
  open: async (page) => {
    await page.goto(`${harnessURL}/`)
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    await page.evaluate(() => globalThis.harness.createLocalEngine('wasm', '/models/tiny-qwen3.gguf'))
    return undefined
  },
})

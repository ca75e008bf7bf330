import { e2ePort, harnessURL } from '../../playwright.config'
import { runEngineContract } from '../contracts/engine'

// The harness page is another origin than the e2e relay, which lists it in RELAY_CORS_ORIGINS.
runEngineContract('relay (RelayEngine, the e2e relay embedding the tiny Qwen3 GGUF)', {
  open: async (page) => {
    await page.goto(`${harnessURL}/`)
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    await page.evaluate((baseUrl) => globalThis.harness.createRelayEngine(baseUrl), `http://127.0.0.1:${e2ePort}/v1`)
    return undefined
  },
})

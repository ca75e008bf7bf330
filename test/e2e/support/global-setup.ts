import { existsSync } from 'node:fs'
import { buildStockBundle } from './stock-bundle'

export default async function globalSetup(): Promise<void> {
  for (const [path, how] of [
    ['dist/index.html', 'npm run build'],
    ['dist-harness/index.html', 'npm run build:harness'],
    ['test/fixtures/tiny-qwen3.gguf', 'npm run fixtures'],
  ] as const) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`${how}\` first (npm run test:e2e does)`)
  }
  await buildStockBundle()
}

import { existsSync, writeFileSync } from 'node:fs'
import { buildStockBundle } from './stock-bundle'

export default async function globalSetup(): Promise<void> {
  for (const [path, how] of [
    ['dist/index.html', 'npm run build'],
    ['dist-harness/index.html', 'npm run build:harness'],
    ['test/fixtures/tiny-qwen3.gguf', 'npm run fixtures'],
  ] as const) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`${how}\` first (npm run test:e2e does)`)
  }
  // Bad models for the error tests: a file that claims to be GGUF and is not, and not a GGUF at all.
  writeFileSync('test/fixtures/corrupt.gguf', Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(4096, 0x5a)]))
  writeFileSync('test/fixtures/readme.txt', 'not a model')
  await buildStockBundle()
}

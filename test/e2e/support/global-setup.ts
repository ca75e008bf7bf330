import { existsSync } from 'node:fs'
import { buildStockBundle } from './stock-bundle'

export default async function globalSetup(): Promise<void> {
  if (!existsSync('dist/index.html')) throw new Error('dist/ is missing: run `npm run build` first (npm run test:e2e does)')
  await buildStockBundle()
}

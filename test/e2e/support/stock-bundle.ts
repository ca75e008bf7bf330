import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { build } from 'vite'

export const stockBundlePath = resolve('node_modules/.cache/edgeswarm/stock-client.js')

/** Bundles the stock y-webrtc client page script (yjs + y-webrtc only) into one IIFE file. */
export async function buildStockBundle(): Promise<string> {
  await build({
    configFile: false,
    publicDir: false,
    logLevel: 'warn',
    build: {
      write: true,
      emptyOutDir: false,
      outDir: dirname(stockBundlePath),
      lib: { entry: resolve('test/e2e/support/stock-client.ts'), formats: ['iife'], name: 'StockClient', fileName: () => 'stock-client.js' },
      minify: false,
    },
  })
  return stockBundlePath
}

export function readStockBundle(): string {
  return readFileSync(stockBundlePath, 'utf8')
}

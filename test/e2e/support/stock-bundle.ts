import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { build } from 'vite'
import { stockEntryOf, stockPackages } from './patched-packages'

export const stockBundlePath = resolve('node_modules/.cache/edgeswarm/stock-client.js')

/** Aliases of every package this project patches to its copy as published: the stock page runs stock Yjs and y-webrtc, not ours. */
function stockEntries(): { find: RegExp; replacement: string }[] {
  return [...stockPackages().keys()].map((name) => ({ find: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`), replacement: stockEntryOf(name) }))
}

/** Bundles the stock y-webrtc client page script (yjs + y-webrtc only, unpatched) into one IIFE file. */
export async function buildStockBundle(): Promise<string> {
  await build({
    configFile: false,
    publicDir: false,
    logLevel: 'warn',
    resolve: { alias: stockEntries() },
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

import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { build } from 'vite'
import { copyPatchedAs, patchesOf, stampOf } from './patched-packages'

export const stockBundlePath = resolve('node_modules/.cache/edgeswarm/stock-client.js')
const stockRoot = resolve('node_modules/.cache/edgeswarm/stock-packages')

/**
 * The packages this project patches, as published (copies with the patches taken off), by name,
 * each to its ES module entry: the stock page runs stock Yjs and y-webrtc, not ours.
 */
function stockEntries(): { find: RegExp; replacement: string }[] {
  const patches = patchesOf(null)
  const stampFile = join(stockRoot, 'stamp')
  const stamp = stampOf(patches)
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    for (const name of patches.keys()) copyPatchedAs(stockRoot, name, undefined)
    writeFileSync(stampFile, stamp)
  }
  return [...patches.keys()].map((name) => {
    const dir = join(stockRoot, 'node_modules', name)
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { module?: string; main?: string }
    const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    return { find: new RegExp(`^${escaped}$`), replacement: join(dir, manifest.module ?? manifest.main ?? 'index.js') }
  })
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

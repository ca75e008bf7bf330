// A Vite plugin: once the bundle is written, puts brotli and gzip siblings beside the built
// assets, which the relay serves to clients that accept them (src/relay/precompressed.ts).
import path from 'node:path'
import type { Plugin } from 'vite'
import { precompressDir } from '../src/relay/precompressed.ts'

export function precompress(): Plugin {
  let assetsDir = ''
  return {
    name: 'edgeswarm-precompress',
    apply: 'build',
    configResolved(config) {
      assetsDir = path.resolve(config.root, config.build.outDir, config.build.assetsDir)
    },
    closeBundle: {
      order: 'post',
      sequential: true,
      async handler() {
        const report = await precompressDir(assetsDir)
        const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
        this.info(`precompressed ${report.files} assets: ${mib(report.rawBytes)} MiB → ${mib(report.brotliBytes)} MiB brotli`)
      },
    },
  }
}

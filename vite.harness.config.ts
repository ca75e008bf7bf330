// Builds the engine test harness (test/harness) into dist-harness/, served by a second relay in
// the e2e run. Never part of the app.
import { resolve } from 'node:path'
import { defineConfig } from 'vite'
import { precompress } from './scripts/vite-precompress.ts'

export default defineConfig({
  root: resolve(import.meta.dirname, 'test/harness'),
  publicDir: false,
  logLevel: 'warn',
  build: { outDir: resolve(import.meta.dirname, 'dist-harness'), emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  plugins: [precompress()],
})

import { defineConfig } from '@playwright/test'
import { chromiumLaunchOptions } from './test/e2e/support/browser'

/** The e2e relay's port; apart from 8787 so tests run beside `npm start`. */
export const e2ePort = Number(process.env.E2E_PORT ?? 18787)
/** A second relay serving the engine harness (test/harness, built into dist-harness); the first lets it call /v1 (CORS). */
export const harnessURL = `http://127.0.0.1:${e2ePort + 1}`

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  // One retry on CI for a test that a loaded machine slows down; the closing line counts it as flaky.
  retries: process.env.CI ? 1 : 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['json', { outputFile: 'reports/e2e.json' }]],
  globalSetup: './test/e2e/support/global-setup.ts',
  use: {
    baseURL: `http://127.0.0.1:${e2ePort}`,
    launchOptions: chromiumLaunchOptions(),
    trace: 'retain-on-failure',
  },
  webServer: [
    {
      command: 'node --import tsx src/relay/main.ts',
      url: `http://127.0.0.1:${e2ePort}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: {
        PORT: String(e2ePort),
        HOST: '127.0.0.1',
        RELAY_STATIC_DIR: 'dist',
        RELAY_MODELS_DIR: 'test/fixtures',
        RELAY_MODEL_PATH: 'test/fixtures/tiny-qwen3.gguf',
        RELAY_MODEL_THREADS: '1',
        RELAY_LOG: 'info',
        RELAY_IDLE_TIMEOUT_MS: '6000',
        RELAY_CORS_ORIGINS: harnessURL,
      },
    },
    {
      command: 'node --import tsx src/relay/main.ts',
      url: `${harnessURL}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: { PORT: String(e2ePort + 1), HOST: '127.0.0.1', RELAY_STATIC_DIR: 'dist-harness', RELAY_MODELS_DIR: 'test/fixtures', RELAY_LOG: 'silent' },
    },
  ],
})

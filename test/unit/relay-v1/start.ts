// Starts relays in-process for the /v1 tests, with their log records kept for assertions.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../../src/relay/config'
import { createLogger } from '../../../src/relay/log'
import { createRelay, type Relay } from '../../../src/relay/server'
import { loadV1Config } from '../../../src/relay/v1/config'
import { tinyModelPath } from '../backend/tiny-model'

export interface StartedRelay {
  relay: Relay
  port: number
  /** `http://127.0.0.1:PORT` */
  baseUrl: string
  /** The relay's JSON log records, in order. */
  records: Record<string, unknown>[]
  close(): Promise<void>
}

/** A relay on a free port with `/v1` configured by `v1Env`, and the rest by `relayEnv`. */
export async function startRelay(v1Env: Record<string, string> = {}, relayEnv: Record<string, string> = {}): Promise<StartedRelay> {
  const staticDir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-v1-'))
  const records: Record<string, unknown>[] = []
  const log = createLogger('info', (line) => records.push(JSON.parse(line) as Record<string, unknown>))
  const config = loadConfig({ PORT: '0', RELAY_STATIC_DIR: staticDir, ...relayEnv })
  const relay = createRelay(config, { log, shutdownGraceMs: 300, v1: loadV1Config(v1Env, config.host) })
  const { port } = await relay.listen()
  return {
    relay,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    records,
    async close() {
      await relay.close()
      await rm(staticDir, { recursive: true, force: true })
    },
  }
}

/** The `v1 request` log records. */
export function requestRecords(records: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return records.filter((record) => record.msg === 'v1 request')
}

export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A port nothing listens on: a connection to it is refused (checked). */
export async function closedPort(): Promise<number> {
  const net = await import('node:net')
  // Below Linux's ephemeral range (32768–60999; macOS's is higher still): a server of another test
  // that listens on port 0 cannot take it before the request, as it could a port listen(0) just freed.
  for (let tries = 0; tries < 100; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000)
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(false)
      })
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'))
    })
    if (refused) return port
  }
  throw new Error('no port in 20000–29999 refused a connection')
}

/** Waits until every backend of `relay` says ready in /healthz (the embedded model has loaded); throws with its state if one failed. */
export async function waitForBackendReady(relay: StartedRelay, timeoutMs = 30_000, token = ''): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const headers: Record<string, string> = token === '' ? {} : { Authorization: `Bearer ${token}` }
  for (;;) {
    // A model's load may hold the relay's event loop (node-llama-cpp works out the chat template
    // synchronously): a keep-alive socket it closed meanwhile resets the next poll, which is retried.
    const health = (await fetch(`${relay.baseUrl}/healthz`, { headers }).then(
      (response) => response.json(),
      (error: unknown) => {
        if (Date.now() > deadline) throw error
        return {}
      },
    )) as { backends?: { name: string; state: { state: string; reason?: string } }[] }
    const backends = health.backends ?? []
    const failed = backends.find((backend) => backend.state.state === 'failed')
    if (failed) throw new Error(`the ${failed.name} backend failed: ${failed.state.reason ?? 'no reason given'}`)
    if (backends.length > 0 && backends.every((backend) => backend.state.state === 'ready')) return
    if (Date.now() > deadline) throw new Error(`the relay's backends were not ready within ${timeoutMs} ms: ${JSON.stringify(backends)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * A relay whose embedded backend runs the tiny GGUF on one CPU thread with no rate limit (for
 * the fuzzers, which send hundreds of bodies), ready once its model has loaded.
 */
export async function startTinyModelRelay(options: { contextSize: number; maxTokens: number; readyMs?: number }): Promise<StartedRelay> {
  const relay = await startRelay({
    RELAY_MODEL_PATH: tinyModelPath,
    RELAY_MODEL_THREADS: '1',
    RELAY_MODEL_GPU: 'off',
    RELAY_MODEL_CONTEXT: String(options.contextSize),
    RELAY_MAX_TOKENS: String(options.maxTokens),
    RELAY_RATE_PER_MIN: '1000000',
  })
  await waitForBackendReady(relay, options.readyMs)
  return relay
}

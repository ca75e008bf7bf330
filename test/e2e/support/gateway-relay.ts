// A relay process as `npm start` runs it, joined to one room as the swarm gateway, on a port of
// its own, its data (identity, replica) in `dataDir`: tests stop it, kill it, and start it again
// on the same port and data.
import { expect } from '@playwright/test'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { freePort } from '../../unit/relay-fuzz/relay-process'
import type { RoomRef } from './nodes'

export interface GatewayRelay {
  baseUrl: string
  port: number
  dataDir: string
  output: () => string
  /** SIGTERM, then the exit code: 0 once every room, socket and timer closed in time. */
  stop(): Promise<number | null>
  /** SIGKILL: a crash, nothing flushed or said. */
  kill(): Promise<void>
}

export interface GatewayHealth {
  backends?: { name: string; state: { state: string }; details?: { rooms?: { room: string; peers: number; replica: { state: string; bytes: number } | null }[] } }[]
}

export async function gatewayHealth(baseUrl: string): Promise<GatewayHealth | null> {
  return (await fetch(`${baseUrl}/healthz`)
    .then((res) => res.json())
    .catch(() => null)) as GatewayHealth | null
}

/** A temp data directory for one test; `remove` deletes it. */
export async function tempDataDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'edgeswarm-e2e-relay-'))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/**
 * Starts the relay in `ref`'s room and waits until its gateway is ready. Without `dataDir` the
 * identity goes to a temp directory of its own (never the user's data directory), no replica.
 */
export async function startGatewayRelay(ref: RoomRef, options: { dataDir?: string; port?: number; env?: Record<string, string> } = {}): Promise<GatewayRelay> {
  const port = options.port ?? (await freePort())
  const own = options.dataDir === undefined ? await tempDataDir() : null
  const dataDir = options.dataDir ?? own?.dir ?? ''
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      RELAY_ROOMS: `${ref.room}${ref.key === null ? '' : `#${ref.key}`}`,
      RELAY_STATIC_DIR: 'dist',
      RELAY_MODELS_DIR: 'test/fixtures',
      RELAY_LOG: 'info',
      ...(own === null ? { RELAY_DATA_DIR: dataDir } : { RELAY_KEY_FILE: path.join(dataDir, 'relay-key.json') }),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()))
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()))
  const exited = once(child, 'exit')
  const baseUrl = `http://127.0.0.1:${port}`
  const end = async (signal: NodeJS.Signals): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal)
      await exited
    }
    await own?.remove()
    return child.exitCode
  }
  const relay: GatewayRelay = {
    baseUrl,
    port,
    dataDir,
    output: () => output,
    stop: () => end('SIGTERM'),
    kill: async () => {
      await end('SIGKILL')
    },
  }
  try {
    await expect
      .poll(
        async () => {
          if (child.exitCode !== null) throw new Error(`relay exited (${child.exitCode}):\n${output}`)
          return (await gatewayHealth(baseUrl))?.backends?.find((backend) => backend.name === 'swarm')?.state.state
        },
        { timeout: 20_000 },
      )
      .toBe('ready')
  } catch (error) {
    await relay.stop()
    throw error
  }
  return relay
}

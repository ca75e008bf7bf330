// A real TURN server for tests: Debian's coturn (`turnserver`) on a free loopback port, with
// coturn's shared-secret authentication (use-auth-secret), its own temp dir, stopped after.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { expect } from '@playwright/test'
import { freePort } from '../../unit/relay-fuzz/relay-process'

export interface Coturn {
  /** The TURN URL pages are given (RELAY_TURN_URLS). */
  url: string
  secret: string
  /** Everything coturn logged so far (allocations name their username: `expiry:nodeId`). */
  log(): string
  stop(): Promise<void>
}

const relayPortSpan = 200

/** Starts coturn with `secret` as its static-auth-secret; resolves once it listens. */
export async function startCoturn(secret: string): Promise<Coturn> {
  const port = await freePort()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-coturn-'))
  // Relay ports: a random span high in the ephemeral range, away from the listening ports freePort hands out.
  const minPort = 50_000 + Math.floor(Math.random() * 70) * relayPortSpan
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--relay-ip=127.0.0.1',
      `--min-port=${minPort}`,
      `--max-port=${minPort + relayPortSpan - 1}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=edgeswarm',
      '--allow-loopback-peers',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--no-tcp-relay',
      `--userdb=${path.join(dir, 'turndb')}`,
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
      '--log-file=stdout',
      '--simple-log',
      '--verbose',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()))
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()))
  const exited = once(child, 'exit')
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await expect
      .poll(
        () => {
          if (child.exitCode !== null) throw new Error(`turnserver exited (${child.exitCode}):\n${output}`)
          return new RegExp(`listener opened on\\s*:\\s*127\\.0\\.0\\.1:${port}`).test(output)
        },
        { timeout: 15_000 },
      )
      .toBe(true)
  } catch (error) {
    await stop()
    throw error
  }
  return { url: `turn:127.0.0.1:${port}?transport=udp`, secret, log: () => output, stop }
}

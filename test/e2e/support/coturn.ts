// A real TURN server for tests: Debian's coturn (`turnserver`) on a free loopback port, with
// coturn's shared-secret authentication (use-auth-secret), its own temp dir, stopped after.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
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
const startTimeoutMs = 15_000

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
  // Not installed (ENOENT): .ci/run installs coturn; say so instead of waiting for a process that never ran.
  const spawned: { error: Error | null } = { error: null }
  child.once('error', (error) => {
    spawned.error = error
    output += `\n${error.message}: install coturn (apt-get install -y coturn)`
  })
  const stop = async (): Promise<void> => {
    if (spawned.error === null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  }
  // Polled here, not with Playwright's expect: the bench starts it outside a test.
  const listening = new RegExp(`listener opened on\\s*:\\s*127\\.0\\.0\\.1:${port}`)
  const deadlineMs = Date.now() + startTimeoutMs
  while (!listening.test(output)) {
    const problem =
      spawned.error !== null || child.exitCode !== null
        ? `turnserver exited (${child.exitCode ?? 'not started'})`
        : Date.now() > deadlineMs
          ? `turnserver did not listen within ${startTimeoutMs} ms`
          : null
    if (problem !== null) {
      await stop()
      throw new Error(`${problem}:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { url: `turn:127.0.0.1:${port}?transport=udp`, secret, log: () => output, stop }
}

// The real relay (src/relay/main.ts) as its own process, as `npm start` runs it, for the
// fuzzer: its output kept (the tail) to print when a run fails.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'

const repoRoot = path.resolve(import.meta.dirname, '../../..')
const keptLines = 300

export interface RelayProcess {
  baseUrl: string
  signalUrl: string
  /** Null while it runs; its exit code or signal once it ended. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null
  output(): string
  /** SIGTERM; resolves with the exit code (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}

/** Starts the relay with `env` and waits until `ready(health)` holds (20 s at most). */
export async function startRelayProcess(env: Record<string, string>, ready: (health: unknown) => boolean): Promise<RelayProcess> {
  const port = await freePort()
  // The relay keeps its identity under XDG_DATA_HOME by default: never the user's own.
  const dataHome = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-relay-data-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, XDG_DATA_HOME: dataHome, PORT: String(port), HOST: '127.0.0.1', RELAY_LOG: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const keep = (chunk: Buffer): void => {
    lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== ''),
    )
    if (lines.length > keptLines) lines.splice(0, lines.length - keptLines)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
  const exitedPromise = once(child, 'exit').then(([code, signal]) => {
    exit = { code: code as number | null, signal: signal as NodeJS.Signals | null }
  })
  const baseUrl = `http://127.0.0.1:${port}`
  const relay: RelayProcess = {
    baseUrl,
    signalUrl: `ws://127.0.0.1:${port}/signal`,
    exited: () => exit,
    output: () => lines.join('\n'),
    async stop(graceMs = 8_000) {
      if (exit === null) {
        child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await exitedPromise
        clearTimeout(killer)
      }
      return exit?.code ?? null
    },
  }
  const deadlineMs = Date.now() + 20_000
  for (;;) {
    const ended = relay.exited()
    if (ended !== null) throw new Error(`the relay exited at start (${JSON.stringify(ended)}):\n${relay.output()}`)
    const health: unknown = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) })
      .then((response) => response.json())
      .catch(() => null)
    if (health !== null && ready(health)) return relay
    if (Date.now() > deadlineMs) {
      await relay.stop()
      throw new Error(`the relay was not ready within 20 s:\n${relay.output()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

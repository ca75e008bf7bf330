// The real relay (`npm start`'s src/relay/main.ts) as its own process on a port the test
// chose, so it can be stopped and started again on the same port (a relay restart).
import { stopChild } from '../../support/child'
import { spawn, type ChildProcess } from 'node:child_process'

export interface PortRelay {
  port: number
  baseUrl: string
  signalUrl: string
  /** Its output so far (the last 20 000 characters), for a failing test's log. */
  output(): string
  /** SIGTERM; SIGKILL after 8 s. */
  stop(): Promise<void>
  /** Starts it again on the same port, with the same environment. */
  start(): Promise<void>
}

/** Starts the relay on `port` with `env` and waits until `ready(health)` holds (20 s at most). */
export async function startRelayOnPort(port: number, env: Record<string, string>, ready: (health: unknown) => boolean = () => true): Promise<PortRelay> {
  const baseUrl = `http://127.0.0.1:${port}`
  let child: ChildProcess | null = null
  let output = ''
  const keep = (data: Buffer): void => {
    output = (output + data.toString()).slice(-20_000)
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = null
    if (running !== null) await stopChild(running, 8_000)
  }
  const start = async (): Promise<void> => {
    const started = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', RELAY_STATIC_DIR: 'dist', RELAY_MODELS_DIR: 'test/fixtures', RELAY_LOG: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = started
    started.stdout.on('data', keep)
    started.stderr.on('data', keep)
    const deadline = Date.now() + 20_000
    for (;;) {
      if (started.exitCode !== null) throw new Error(`the relay on ${port} exited at start (${started.exitCode}):\n${output}`)
      const health: unknown = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) })
        .then((response) => response.json())
        .catch(() => null)
      if (health !== null && ready(health)) return
      if (Date.now() > deadline) {
        await stop()
        throw new Error(`the relay on ${port} was not ready within 20 s:\n${output}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  await start()
  return { port, baseUrl, signalUrl: `ws://127.0.0.1:${port}/signal`, output: () => output, stop, start }
}

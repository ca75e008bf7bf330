import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { freePort } from '../unit/relay-fuzz/relay-process'

export interface RelayProcess {
  url: string
  port: number
  pid: number
  rssBytes(): number
  stop(): Promise<void>
}

/** Starts the real relay (`src/relay/main.ts` of the tree in `cwd`, this one unless said) as its own process and waits for /healthz. */
export async function startRelay(env: Record<string, string> = {}, cwd?: string): Promise<RelayProcess> {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
    cwd,
    // The benches open connections from one address far faster than a client would.
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', RELAY_LOG: 'silent', RELAY_CONNECTS_PER_S_PER_IP: '1000000', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('relay did not start within 20 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const pid = child.pid ?? 0
  return {
    url,
    port,
    pid,
    rssBytes: () => {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      return Number(match?.[1] ?? 0) * 1024
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

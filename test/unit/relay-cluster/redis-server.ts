// A real redis-server (Debian's; .ci/run installs it) of a test's own: a free loopback port, a
// temp dir, no persistence; stopped (and its dir removed) by the test.
import { stopChild } from '../../support/child'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '../relay-fuzz/relay-process'

export interface RedisServer {
  port: number
  url: string
  /** Stops it (SIGTERM, SIGKILL after 3 s); `start()` brings it back on the same port. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops it for good and removes its dir. */
  dispose(): Promise<void>
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(500)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/** Starts redis-server on a free port and waits until it answers PING (10 s at most). */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-redis-'))
  let child: ChildProcess | null = null
  let output = ''
  const start = async (): Promise<void> => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    started.stdout.on('data', (data: Buffer) => (output = (output + data.toString()).slice(-4_000)))
    started.stderr.on('data', (data: Buffer) => (output = (output + data.toString()).slice(-4_000)))
    const deadline = Date.now() + 10_000
    while (!(await answers(port))) {
      if (started.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on ${port}:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = null
    if (running !== null) await stopChild(running, 3_000)
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async dispose() {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

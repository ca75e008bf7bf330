// Stopping a server a test started as its own process (a relay, redis-server).
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'

/** SIGTERM, then SIGKILL after `graceMs`; resolves once `child` has exited (at once if it has). */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(killer)
}

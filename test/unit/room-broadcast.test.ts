// Tabs of one browser profile reach each other over the broadcast channel (y-webrtc's, as
// patched): a tab publishes its updates there only once another tab has spoken there, and
// nothing written before a tab joined, or after, is lost to it.
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import type { TabCommand, TabReport } from './room-broadcast/tab'

interface Tab {
  set(key: string, value: string): void
  /** Resolves once the tab's map holds `value` at `key`. */
  has(key: string, value: string, timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

const tabs: Tab[] = []
/** A worker thread takes no loader flags: it registers tsx itself, then runs the tab. */
const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./room-broadcast/tab.ts', import.meta.url).href)}) })`

function openTab(room: string): Tab {
  const worker = new Worker(bootstrap, { eval: true, workerData: { room, password: 'secret' } })
  let map: Record<string, string> = {}
  const waiting = new Set<() => void>()
  worker.on('message', (report: TabReport) => {
    map = report.map
    for (const check of waiting) check()
  })
  const tab: Tab = {
    set: (key, value) => worker.postMessage({ key, value } satisfies TabCommand),
    has: (key, value, timeoutMs = 5_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (map[key] !== value) return
          waiting.delete(check)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(() => {
          waiting.delete(check)
          reject(new Error(`tab never had ${key} = ${value} (it has ${JSON.stringify(map)})`))
        }, timeoutMs)
        waiting.add(check)
        check()
      }),
    stop: async () => {
      await worker.terminate()
    },
  }
  tabs.push(tab)
  return tab
}

/** Counts what crosses the room's broadcast channel (lib0 names the channel after the room); it says nothing itself. */
function listen(room: string): { count: () => number; close: () => void } {
  const channel = new BroadcastChannel(room)
  let count = 0
  channel.onmessage = () => {
    count++
  }
  return { count: () => count, close: () => channel.close() }
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

afterEach(async () => {
  await Promise.all(tabs.splice(0).map((tab) => tab.stop()))
})

describe('tabs of one profile over the broadcast channel', () => {
  it('a tab alone publishes its updates nowhere: after the messages of its connect, writes cross the channel no more', async () => {
    const room = `bc-alone-${Math.random().toString(36).slice(2)}`
    const listener = listen(room)
    try {
      const tab = openTab(room)
      tab.set('first', '0')
      await tab.has('first', '0')
      // Its connect: its id, sync steps 1 and 2, the awareness query and its awareness state.
      await settle(500)
      const atConnect = listener.count()
      expect(atConnect).toBeGreaterThan(0)
      for (let i = 1; i <= 20; i++) tab.set(`k${i}`, String(i))
      await tab.has('k20', '20')
      await settle(500)
      expect(listener.count()).toBe(atConnect)
    } finally {
      listener.close()
    }
  })

  it('a tab that joins later gets what was written before it, and both get what either writes after', async () => {
    const room = `bc-join-${Math.random().toString(36).slice(2)}`
    const first = openTab(room)
    first.set('before', 'written alone')
    await first.has('before', 'written alone')
    await settle(300)
    const second = openTab(room)
    await second.has('before', 'written alone')
    first.set('after', 'from the first')
    second.set('reply', 'from the second')
    await second.has('after', 'from the first')
    await first.has('reply', 'from the second')
    // A stream both ways, as the first tab heard the second only through its connect.
    for (let i = 0; i < 10; i++) {
      first.set(`a${i}`, String(i))
      second.set(`b${i}`, String(i))
    }
    await second.has('a9', '9')
    await first.has('b9', '9')
  })
})

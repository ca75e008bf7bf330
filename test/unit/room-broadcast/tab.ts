// One tab of a browser profile for room-broadcast.test.ts: a y-webrtc room with no signaling
// server, in a worker thread of its own (y-webrtc keeps one room of a name per thread), so the
// broadcast channel the threads of a process share is the only way between tabs.
import { parentPort, workerData } from 'node:worker_threads'
import * as Y from 'yjs'
import { WebrtcProvider } from 'y-webrtc'

/** Sets `key` to `value` in the tab's map (the test ends a tab by terminating its thread). */
export interface TabCommand {
  key: string
  value: string
}
/** What the tab reports: its map whenever it changed, and once at the start. */
export interface TabReport {
  map: Record<string, string>
}

const { room, password } = workerData as { room: string; password: string }
const port = parentPort
if (port === null) throw new Error('room-broadcast/tab.ts runs as a worker thread')
const doc = new Y.Doc()
const map = doc.getMap<string>('map')
new WebrtcProvider(room, doc, { signaling: [], password })
const report = (): void => port.postMessage({ map: map.toJSON() as Record<string, string> } satisfies TabReport)
map.observe(report)
report()
port.on('message', (command: TabCommand) => map.set(command.key, command.value))

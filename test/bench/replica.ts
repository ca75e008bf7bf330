// The relay's room replica on real files (a temp dir on this machine's disk): what a batch of
// memory writes costs to append and fsync, what compaction costs, and how long a restarted
// relay takes to load a room of N entries, each beside the doc's own encoded size.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as Y from 'yjs'
import { createLogger } from '../../src/relay/log'
import { RoomReplica } from '../../src/relay/replica/room-replica'
import { fmt, median, table } from './stats'

const roomId = 'bench0000000000000000000000000000'
const log = createLogger('silent')
const entryText = 'A fact worth keeping in the room: '.padEnd(400, 'x')

/** One memory-sized entry, the shape browsers write. */
function writeEntry(doc: Y.Doc, index: number): void {
  doc.getMap('memory').set(`entry-${index}`, { v: 2, text: `${entryText}${index}`, tags: ['bench'], author: 'a'.repeat(20), createdAt: index, updatedAt: index, sig: 's'.repeat(86) })
}

async function figures(dir: string, entries: number): Promise<string[]> {
  const doc = new Y.Doc()
  const replica = await RoomReplica.open(dir, roomId, 'bench', { maxBytes: 1 << 30, flushMs: 1_000_000 }, log)
  replica.attach(doc)
  // Batches of 10 writes, as a busy room's 250 ms flush window gathers them.
  const flushMs: number[] = []
  for (let index = 0; index < entries; index += 10) {
    for (let k = index; k < Math.min(entries, index + 10); k++) writeEntry(doc, k)
    const startedMs = performance.now()
    await replica.flush()
    flushMs.push(performance.now() - startedMs)
  }
  const onDisk = replica.summary().bytes
  await replica.close()
  const loadStartedMs = performance.now()
  const again = new Y.Doc()
  const reopened = await RoomReplica.open(dir, roomId, 'bench', { maxBytes: 1 << 30 }, log)
  reopened.attach(again)
  const loadMs = performance.now() - loadStartedMs
  await reopened.close()
  return [String(entries), fmt(Y.encodeStateAsUpdate(again).byteLength / 1024, 0), fmt(onDisk / 1024, 0), fmt(median(flushMs), 2), fmt(Math.max(...flushMs), 1), fmt(loadMs, 1)]
}

export async function benchReplica(): Promise<void> {
  const rows: string[][] = []
  for (const entries of [100, 1_000, 5_000]) {
    const dir = await mkdtemp(path.join(tmpdir(), 'edgeswarm-bench-replica-'))
    try {
      rows.push(await figures(dir, entries))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  table(
    'Room replica on disk: N memory entries written in batches of 10 (append + fdatasync each; the max includes compactions), then loaded by a restarted relay',
    ['entries', 'doc KiB', 'on disk KiB', 'flush median ms', 'flush max ms', 'load ms'],
    rows,
  )
}

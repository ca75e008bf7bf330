// The relay's room replica on real files in a temp dir: what is saved loads again, a torn last
// write is cut off, the log compacts into a snapshot, a doc over the cap and a full disk stop
// saving with one logged error (no throw), and the data directory is made 0700 and locked.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createLogger, type Logger } from '../../src/relay/log'
import { ensureDataDir, lockDataDir, RelayDataDirError } from '../../src/relay/replica/data-dir'
import { decodeRecords, encodeRecords } from '../../src/relay/replica/records'
import { RoomReplica, type ReplicaOptions } from '../../src/relay/replica/room-replica'
import { openGatewayStorage } from '../../src/relay/gateway/storage'

const roomId = '0123456789abcdef0123456789abcdef'

/** A logger that keeps its lines, to assert on what was logged once. */
function recordingLog(): { log: Logger; lines: () => { level: string; msg: string }[] } {
  const lines: string[] = []
  return {
    log: createLogger('info', (line) => lines.push(line)),
    lines: () => lines.map((line) => JSON.parse(line) as { level: string; msg: string }),
  }
}

describe('replica records', () => {
  it('reads back what it wrote, and stops at a torn or altered record', () => {
    const payloads = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(1000).fill(7)]
    const bytes = encodeRecords(payloads)
    expect(decodeRecords(bytes)).toEqual({ payloads, validBytes: bytes.byteLength })
    const torn = bytes.subarray(0, bytes.byteLength - 10)
    expect(decodeRecords(torn).payloads).toEqual(payloads.slice(0, 2))
    const altered = Buffer.from(bytes)
    altered.writeUInt8(altered.readUInt8(altered.byteLength - 1) ^ 1, altered.byteLength - 1)
    expect(decodeRecords(altered).payloads.length).toBe(2)
    const hugeLength = Buffer.from(bytes)
    hugeLength.writeUInt32BE(0xffffffff, 0)
    expect(decodeRecords(hugeLength)).toEqual({ payloads: [], validBytes: 0 })
  })
})

describe('room replica', () => {
  let dir: string
  const opened: RoomReplica[] = []
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'edgeswarm-replica-'))
  })
  afterEach(async () => {
    for (const replica of opened.splice(0)) await replica.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function openInto(doc: Y.Doc, options: ReplicaOptions = { maxBytes: 64 * 1024 * 1024 }, log: Logger = createLogger('silent')): Promise<RoomReplica> {
    const replica = await RoomReplica.open(dir, roomId, 'lobby', options, log)
    opened.push(replica)
    replica.attach(doc)
    return replica
  }

  it('loads into a new doc what an earlier one saved, in the room id’s files only', async () => {
    const first = new Y.Doc()
    const replica = await openInto(first)
    first.getMap('memory').set('a', { text: 'saved' })
    first.getArray('log').push(['one', 'two'])
    await replica.close()
    expect((await readdir(dir)).sort()).toEqual([`${roomId}.log`])

    const second = new Y.Doc()
    await openInto(second)
    expect(second.getMap('memory').get('a')).toEqual({ text: 'saved' })
    expect(second.getArray('log').toArray()).toEqual(['one', 'two'])
  })

  it('cuts off a torn last write and keeps every whole update before it', async () => {
    const first = new Y.Doc()
    const replica = await openInto(first)
    first.getMap('memory').set('a', 1)
    await replica.flush()
    first.getMap('memory').set('b', 2)
    await replica.close()
    const logFile = path.join(dir, `${roomId}.log`)
    const whole = (await stat(logFile)).size
    // A crash in the middle of the next record: its header and half its payload.
    const next = encodeRecords([Y.encodeStateAsUpdate(first)])
    await appendFile(logFile, next.subarray(0, 12))
    const { log, lines } = recordingLog()
    const second = new Y.Doc()
    const reopened = await openInto(second, { maxBytes: 64 * 1024 * 1024 }, log)
    expect(second.getMap('memory').toJSON()).toEqual({ a: 1, b: 2 })
    expect((await stat(logFile)).size).toBe(whole)
    expect(
      lines()
        .filter((line) => line.level === 'warn')
        .map((line) => line.msg),
    ).toEqual(['replica: dropped a torn last write of the log'])
    // It appends after the cut: the next load sees the new write too.
    second.getMap('memory').set('c', 3)
    await reopened.close()
    const third = new Y.Doc()
    await openInto(third)
    expect(third.getMap('memory').toJSON()).toEqual({ a: 1, b: 2, c: 3 })
  })

  it('compacts a log that outgrew its snapshot into one snapshot', async () => {
    const doc = new Y.Doc()
    const replica = await openInto(doc)
    const text = doc.getText('t')
    // Each write replaces the last: the doc stays small while the log of updates grows past 1 MiB.
    for (let round = 0; round < 40; round++) {
      doc.transact(() => {
        text.delete(0, text.length)
        text.insert(0, String(round).repeat(32 * 1024))
      })
      await replica.flush()
    }
    const snapshot = await stat(path.join(dir, `${roomId}.snapshot`))
    const log = await stat(path.join(dir, `${roomId}.log`))
    expect(snapshot.size).toBeGreaterThan(0)
    expect(snapshot.size + log.size).toBeLessThan(1024 * 1024)
    expect(replica.summary()).toEqual({ state: 'saving', bytes: snapshot.size + log.size })
    expect(snapshot.mode & 0o777).toBe(0o600)
    await replica.close()
    const again = new Y.Doc()
    await openInto(again)
    expect(again.getText('t').toJSON()).toBe('39'.repeat(32 * 1024))
  })

  it('stops saving a doc over the cap with one logged error, and keeps what is on disk', async () => {
    const { log, lines } = recordingLog()
    const doc = new Y.Doc()
    const replica = await openInto(doc, { maxBytes: 64 * 1024 }, log)
    doc.getMap('memory').set('small', 'kept')
    await replica.flush()
    doc.getMap('memory').set('big', 'x'.repeat(100 * 1024))
    await replica.flush()
    doc.getMap('memory').set('later', 'not saved')
    await replica.flush()
    expect(replica.summary()).toMatchObject({ state: 'over-cap' })
    expect(replica.summary().reason).toMatch(/over RELAY_REPLICA_MAX_BYTES 65536/)
    expect(
      lines()
        .filter((line) => line.level === 'error')
        .map((line) => line.msg),
    ).toEqual(['replica: the room doc outgrew the cap; it is no longer saved (what is on disk stays)'])
    await replica.close()
    const again = new Y.Doc()
    await openInto(again)
    expect(again.getMap('memory').toJSON()).toEqual({ small: 'kept' })
  })

  it('survives a full disk: saving stops with one logged error, the doc goes on', async () => {
    // Every write to /dev/full fails with ENOSPC, as a full disk does: here the compaction's new snapshot.
    await symlink('/dev/full', path.join(dir, `${roomId}.snapshot.tmp`))
    const { log, lines } = recordingLog()
    const doc = new Y.Doc()
    const replica = await openInto(doc, { maxBytes: 64 * 1024 * 1024, retryMs: 200 }, log)
    const text = doc.getText('t')
    for (let round = 0; round < 40; round++) {
      doc.transact(() => {
        text.delete(0, text.length)
        text.insert(0, String(round).repeat(32 * 1024))
      })
      await replica.flush()
    }
    expect(replica.summary()).toMatchObject({ state: 'failed' })
    expect(replica.summary().reason).toMatch(/ENOSPC/)
    expect(text.toJSON()).toBe('39'.repeat(32 * 1024))
    expect(
      lines()
        .filter((line) => line.level === 'error')
        .map((line) => line.msg),
    ).toEqual(['replica: saving stopped'])
    // What was written before the disk filled up still loads.
    const before = new Y.Doc()
    Y.applyUpdate(before, Y.mergeUpdates(decodeRecords(await readFile(path.join(dir, `${roomId}.log`))).payloads))
    expect(before.getText('t').length).toBe(64 * 1024)
    // Space again: a later compaction writes the whole doc, and saving goes on.
    await rm(path.join(dir, `${roomId}.snapshot.tmp`))
    await expect.poll(() => replica.summary().state, { timeout: 5_000 }).toBe('saving')
    expect(lines().map((line) => line.msg)).toContain('replica: saving again')
    await replica.close()
    const again = new Y.Doc()
    await openInto(again)
    expect(again.getText('t').toJSON()).toBe('39'.repeat(32 * 1024))
  })
})

describe('data directory', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'edgeswarm-datadir-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('is made with mode 0700, parents too; a file in its place is a named error', async () => {
    const nested = path.join(dir, 'a', 'b')
    await ensureDataDir(nested, 'RELAY_DATA_DIR')
    expect((await stat(nested)).mode & 0o777).toBe(0o700)
    await writeFile(path.join(dir, 'file'), 'x')
    await expect(ensureDataDir(path.join(dir, 'file'), 'RELAY_DATA_DIR')).rejects.toThrow(RelayDataDirError)
    await expect(ensureDataDir(path.join(dir, 'file', 'below'), 'RELAY_DATA_DIR')).rejects.toThrow(/cannot make RELAY_DATA_DIR .*below \(ENOTDIR\)/)
  })

  it('is locked by one relay process at a time; a dead holder’s lock is taken over', async () => {
    const release = await lockDataDir(dir)
    await release()
    const holder = spawn('sleep', ['30'])
    await once(holder, 'spawn')
    try {
      await writeFile(path.join(dir, 'relay.lock'), `${holder.pid ?? 0}\n`)
      await expect(lockDataDir(dir)).rejects.toThrow(
        new RelayDataDirError(`RELAY_DATA_DIR ${dir} is in use by another relay process (pid ${holder.pid ?? 0}): give each relay a data directory of its own`),
      )
    } finally {
      holder.kill()
      await once(holder, 'exit')
    }
    const takenOver = await lockDataDir(dir)
    expect((await readFile(path.join(dir, 'relay.lock'), 'utf8')).trim()).toBe(String(process.pid))
    await takenOver()
  })

  it('keeps room files under rooms/ named by room id: neither the room’s name nor its key', async () => {
    const log = createLogger('silent')
    const storage = await openGatewayStorage({ dataDir: dir, keyFile: path.join(dir, 'relay-key.json'), replica: { maxBytes: 1 << 20 } }, log)
    const replica = await storage.replicaOf(roomId, 'secret-room-name')
    const doc = new Y.Doc()
    replica?.attach(doc)
    doc.getMap('memory').set('a', 1)
    await storage.close()
    const names = await readdir(path.join(dir, 'rooms'))
    expect(names).toEqual([`${roomId}.log`])
    expect(await readdir(dir)).toEqual(['rooms'])
    expect((await stat(path.join(dir, 'rooms'))).mode & 0o777).toBe(0o700)
  })

  it('makes the default data directory for the key only, and no replica in it', async () => {
    const dataDir = path.join(dir, 'default')
    const storage = await openGatewayStorage({ dataDir, keyFile: path.join(dataDir, 'relay-key.json'), replica: null }, createLogger('silent'))
    expect(await storage.replicaOf(roomId, 'lobby')).toBeNull()
    await storage.close()
    expect(await readdir(dataDir)).toEqual([])
    expect(storage.keyFile).toBe(path.join(dataDir, 'relay-key.json'))
    await mkdir(path.join(dir, 'elsewhere'))
    // With RELAY_KEY_FILE elsewhere, the default directory is not even made.
    const elsewhere = await openGatewayStorage({ dataDir: path.join(dir, 'unused'), keyFile: path.join(dir, 'elsewhere', 'k.json'), replica: null }, createLogger('silent'))
    expect(elsewhere.keyFile).toBe(path.join(dir, 'elsewhere', 'k.json'))
    expect((await readdir(dir)).sort()).toEqual(['default', 'elsewhere'])
    // A default directory that cannot be made (a read-only home, here a file in the way): an identity in memory, with a warning.
    await writeFile(path.join(dir, 'home-file'), 'x')
    const { log, lines } = recordingLog()
    const blocked = path.join(dir, 'home-file', 'edgeswarm-relay')
    const fallback = await openGatewayStorage({ dataDir: blocked, keyFile: path.join(blocked, 'relay-key.json'), replica: null }, log)
    expect(fallback.keyFile).toBeNull()
    expect(lines().map((line) => line.level)).toEqual(['warn'])
    // An explicit RELAY_DATA_DIR that cannot be made is an error: the operator asked for a replica.
    await expect(openGatewayStorage({ dataDir: blocked, keyFile: path.join(blocked, 'relay-key.json'), replica: { maxBytes: 1 << 20 } }, log)).rejects.toThrow(RelayDataDirError)
  })
})

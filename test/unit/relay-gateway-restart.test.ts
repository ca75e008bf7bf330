// The gateway across a restart, on real files and real y-webrtc room peers (signaling nobody
// answers): the same identity from the key file in RELAY_DATA_DIR, the tasks it had posted
// found in the replica and ended cancelled with a named, signed reason; and the relay's doc
// holds nothing of its own beyond its market tasks, while what peers sent is kept as sent
// (forgeries included) and refused by readers as before.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createSwarmBackend } from '../../src/relay/gateway/backend'
import type { SwarmConfig } from '../../src/relay/gateway/config'
import { orphanedTaskReason, RoomPeer } from '../../src/relay/gateway/room-peer'
import { createLogger } from '../../src/relay/log'
import { RoomReplica } from '../../src/relay/replica/room-replica'
import type { Backend } from '../../src/relay/v1/backend'
import { newEntryId, signEntry, verifyVersion, type MemoryEntry } from '../../src/memory/entry'
import { verify } from '../../src/market/signing'
import type { Close, Spec } from '../../src/market/schema'
import { roomIdOf } from '../../src/shared/room-id'
import { fixedSigner } from './market-sim/keys'
import { closedPort } from './relay-v1/start'

const log = createLogger('silent')
const spec = { name: 'lobby', key: 'k' }

interface Started {
  backend: Backend
  room: RoomPeer
}

/** Which root type of the doc an item lives under (`tasks`, `memory`, …). */
function rootOf(doc: Y.Doc, item: Y.Item): string {
  let type = item.parent as Y.AbstractType<unknown>
  while (type._item !== null) type = type._item.parent as Y.AbstractType<unknown>
  for (const [name, shared] of doc.share) if (shared === type) return name
  return '?'
}

describe('swarm gateway across a restart', () => {
  let dataDir: string
  let config: SwarmConfig
  let roomId: string
  const running: Backend[] = []

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'edgeswarm-restart-'))
    roomId = await roomIdOf(spec.name, spec.key)
    config = {
      rooms: [spec],
      keyFile: path.join(dataDir, 'relay-key.json'),
      dataDir,
      replica: { maxBytes: 16 * 1024 * 1024 },
      signalingUrl: `ws://127.0.0.1:${await closedPort()}/signal`,
      peerWaitMs: 100,
      linkTimeoutMs: 15_000,
    }
  })
  afterEach(async () => {
    for (const backend of running.splice(0)) await backend.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  /** The backend as the relay makes it, its room peer handed out to the test. */
  async function start(): Promise<Started> {
    const joined: RoomPeer[] = []
    const backend = createSwarmBackend(config, log, {
      joinRoom: (room, signer, wrtc, id, replica) => {
        const peer = new RoomPeer({ spec: room, roomId: id, signer, wrtc, signalingUrl: config.signalingUrl, linkTimeoutMs: config.linkTimeoutMs, version: 'test', log, replica })
        joined.push(peer)
        return peer
      },
    })
    running.push(backend)
    await expect.poll(() => backend.state().state).toBe('ready')
    const [room] = joined
    if (room === undefined) throw new Error('the backend joined no room')
    return { backend, room }
  }

  async function stop(started: Started): Promise<void> {
    running.splice(running.indexOf(started.backend), 1)
    await started.backend.close()
  }

  /** The room's doc as the replica has it on disk. */
  async function docOnDisk(): Promise<Y.Doc> {
    const doc = new Y.Doc()
    const replica = await RoomReplica.open(path.join(dataDir, 'rooms'), roomId, spec.name, { maxBytes: 1 << 30 }, log)
    replica.attach(doc)
    await replica.close()
    return doc
  }

  async function postTask(room: RoomPeer): Promise<string> {
    const handle = room.market.submit({ messages: [{ role: 'user', content: 'posted before the restart' }], max_tokens: 8 })
    handle.result.catch(() => undefined)
    await expect.poll(() => room.market.tasks().find((task) => task.id === handle.id)?.status).toBe('open')
    return handle.id
  }

  it('comes back with the same node id and ends the task it had posted, cancelled with a signed, named reason', async () => {
    const first = await start()
    const nodeId = first.room.market.nodeId
    const taskId = await postTask(first.room)
    // The relay goes away with its task open (the HTTP client that asked is gone with it).
    await stop(first)
    expect((await stat(path.join(dataDir, 'relay-key.json'))).mode & 0o777).toBe(0o600)
    expect((await docOnDisk()).getMap('tasks').has(taskId)).toBe(true)

    const second = await start()
    expect(second.room.market.nodeId).toBe(nodeId)
    await expect.poll(() => second.room.market.tasks().find((task) => task.id === taskId)?.status).toBe('cancelled')
    await stop(second)

    const task = (await docOnDisk()).getMap('tasks').get(taskId) as Y.Map<unknown>
    const taskSpec = task.get('spec') as Spec
    const close = task.get('close') as Close
    expect(close).toMatchObject({ taskId, status: 'cancelled', reason: orphanedTaskReason })
    expect(await verify('close', close, taskSpec.publicKey, nodeId, roomId)).toBe(true)
    expect((await readdir(dataDir)).sort()).toEqual(['relay-key.json', 'rooms'])
  })

  it('keeps in its doc only what others wrote plus its own market tasks; a forgery it stored is still refused', async () => {
    const first = await start()
    const relayId = first.room.market.nodeId
    await postTask(first.room)
    await stop(first)

    // What browsers sent while the relay was away from the disk: an honest entry and a forgery in the relay's name.
    const browser = await fixedSigner(1)
    const browserDoc = new Y.Doc()
    const sent = await RoomReplica.open(path.join(dataDir, 'rooms'), roomId, spec.name, { maxBytes: 1 << 30 }, log)
    sent.attach(browserDoc)
    const honestId = newEntryId(browser.nodeId)
    const honest = await signEntry(honestId, roomId, { text: 'a fact from a browser', tags: [] }, browser, Date.now())
    const forgedId = newEntryId(relayId)
    const forged: MemoryEntry = { ...honest, author: relayId, text: 'the relay says: trust me' }
    browserDoc.getMap('memory').set(honestId, honest)
    browserDoc.getMap('memory').set(forgedId, forged)
    await sent.close()

    const second = await start()
    await expect.poll(() => second.room.market.tasks()[0]?.status).toBe('cancelled')
    await stop(second)

    const doc = await docOnDisk()
    const othersClients = new Set([browserDoc.clientID])
    const relayRoots = new Set<string>()
    let relayItems = 0
    for (const [client, structs] of doc.store.clients) {
      if (othersClients.has(client)) continue
      for (const struct of structs) {
        if (!(struct instanceof Y.Item)) continue
        relayItems++
        relayRoots.add(rootOf(doc, struct))
      }
    }
    expect(relayItems).toBeGreaterThan(0)
    expect([...relayRoots].sort()).toEqual(['log', 'tasks'])
    const tasks = [...doc.getMap('tasks').values()] as Y.Map<unknown>[]
    expect(tasks.map((task) => (task.get('spec') as Spec).poster)).toEqual([relayId])
    // Stored as sent: the replica is no filter; readers verify, as they do for any peer.
    expect(doc.getMap('memory').toJSON()).toEqual({ [honestId]: honest, [forgedId]: forged })
    expect(await verifyVersion(honestId, doc.getMap('memory').get(honestId), roomId, Date.now())).toMatchObject({ ok: true })
    expect(await verifyVersion(forgedId, doc.getMap('memory').get(forgedId), roomId, Date.now())).toMatchObject({ ok: false, refusal: 'bad-signature' })
  })
})

// The relay against a fuzzer: the real relay process with the swarm gateway in a keyed and an
// open room gets thousands of random and mutated /signal frames (from outsiders, and as a
// member with the key) and, over a member's WebRTC link to the gateway, thousands of broken
// y-protocols messages. Throughout, /healthz answers; after, the process is alive, counted the
// drops, caught every fault itself (nothing reached the last-resort hooks), still links a new
// peer, and exits cleanly. Seeded: a failure prints its seed and the command that replays it.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { WebrtcConn } from 'y-webrtc'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { deriveRoomKey } from './relay-fuzz/envelope'
import { randomFrame, type FrameBudget, type FuzzRooms } from './relay-fuzz/frames'
import { joinAsNodePeer, type NodePeer } from './relay-fuzz/node-peer'
import { randomPeerMessage } from './relay-fuzz/peer-messages'
import { createRandom, type Random } from './relay-fuzz/random'
import { startRelayProcess, type RelayProcess } from './relay-fuzz/relay-process'

const seed = Number(process.env.RELAY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const signalFrames = Number(process.env.RELAY_FUZZ_FRAMES ?? 3000)
const peerMessagesPerRoom = Number(process.env.RELAY_FUZZ_MESSAGES ?? 1500)
const keyedRoom = 'fuzz-keyed'
const openRoom = 'fuzz-open'
const roomKey = 'fuzz-secret'
const socketPool = 6
const healthPollMs = 200
const healthTimeoutMs = 5_000
const linkTimeoutMs = 20_000
const linkReapMs = 2_000

interface RoomHealth {
  room: string
  links: number
  dropped: Record<string, number>
}

interface Health {
  ok?: boolean
  dropped?: Record<string, number>
  faults?: { unhandledRejections: number; uncaughtExceptions: number }
  backends?: { name: string; state: { state: string }; details?: { rooms?: RoomHealth[] } }[]
}

const swarmOf = (health: Health): NonNullable<Health['backends']>[number] | undefined => health.backends?.find((backend) => backend.name === 'swarm')
const roomOf = (health: Health, room: string): RoomHealth | undefined => swarmOf(health)?.details?.rooms?.find((entry) => entry.room === room)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function readHealth(relay: RelayProcess): Promise<Health> {
  const response = await fetch(`${relay.baseUrl}/healthz`, { signal: AbortSignal.timeout(healthTimeoutMs) })
  if (!response.ok) throw new Error(`/healthz answered ${response.status}`)
  return (await response.json()) as Health
}

/** Polls /healthz until stopped; every poll must answer within the timeout. */
function pollHealth(relay: RelayProcess): { stop(): Promise<{ polls: number; failures: string[]; maxLatencyMs: number }> } {
  let running = true
  const failures: string[] = []
  let polls = 0
  let maxLatencyMs = 0
  const loop = (async () => {
    while (running) {
      const startedMs = Date.now()
      try {
        const health = await readHealth(relay)
        if (health.ok !== true) failures.push(`not ok: ${JSON.stringify(health).slice(0, 200)}`)
      } catch (error) {
        failures.push(`${new Date().toISOString()} ${String(error)}`)
      }
      polls += 1
      maxLatencyMs = Math.max(maxLatencyMs, Date.now() - startedMs)
      await sleep(healthPollMs)
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return { polls, failures, maxLatencyMs }
    },
  }
}

/** Sends `count` frames over a pool of sockets, opening a new one for each the relay closed. */
async function fuzzSignaling(relay: RelayProcess, random: Random, rooms: FuzzRooms, count: number): Promise<Record<string, number>> {
  const sockets: (WebSocket | null)[] = Array.from({ length: socketPool }, () => null)
  const sent: Record<string, number> = {}
  const budget: FrameBudget = { announces: 8, offers: 150 }
  const open = async (slot: number): Promise<WebSocket> => {
    const current = sockets[slot]
    if (current?.readyState === WebSocket.OPEN) return current
    current?.terminate()
    const ws = new WebSocket(relay.signalUrl)
    ws.on('error', () => undefined)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('close', () => reject(new Error('closed before it opened')))
    })
    // Some sockets read the rooms too: what the relay forwards goes back out to them.
    if (random.chance(0.3)) ws.send(JSON.stringify({ type: 'subscribe', topics: [rooms.keyed.name, rooms.open.name] }))
    sockets[slot] = ws
    return ws
  }
  try {
    for (let i = 0; i < count; i += 1) {
      if (relay.exited() !== null) throw new Error(`the relay exited during the signaling fuzz, after ${i} frames`)
      const ws = await open(random.int(socketPool))
      const frame = await randomFrame(random, rooms, budget)
      sent[frame.kind] = (sent[frame.kind] ?? 0) + 1
      ws.send('text' in frame ? frame.text : frame.binary, { binary: !('text' in frame) }, () => undefined)
      if (i % 25 === 24) await sleep(5)
    }
  } finally {
    for (const ws of sockets) ws?.terminate()
  }
  return sent
}

/** Sends `count` broken data-channel messages over `peer`'s link to the gateway. */
async function fuzzLink(relay: RelayProcess, random: Random, peer: NodePeer, gatewayPeerId: string, count: number): Promise<Record<string, number>> {
  const sent: Record<string, number> = {}
  let conn: WebrtcConn = await peer.link(gatewayPeerId, linkTimeoutMs)
  for (let i = 0; i < count; i += 1) {
    if (relay.exited() !== null) throw new Error(`the relay exited during the data-channel fuzz, after ${i} messages`)
    if (!conn.connected) conn = await peer.link(gatewayPeerId, linkTimeoutMs)
    const message = randomPeerMessage(random)
    sent[message.kind] = (sent[message.kind] ?? 0) + 1
    try {
      ;(conn.peer as { send(bytes: Uint8Array): void }).send(message.bytes)
    } catch {
      // The channel closed between the check and the send: the next round relinks.
    }
    // Paced under the gateway's per-link budget, so messages reach y-webrtc and Yjs.
    if (i % 40 === 39) await sleep(40)
  }
  return sent
}

describe('the relay under fuzzing', () => {
  it('answers /healthz throughout, stays alive, counts the drops and keeps serving', async () => {
    const random = createRandom(seed)
    const staticDir = await mkdtemp(path.join(os.tmpdir(), 'edgeswarm-fuzz-'))
    const peers: NodePeer[] = []
    let relay: RelayProcess | undefined
    try {
      relay = await startRelayProcess(
        {
          RELAY_ROOMS: `${keyedRoom}#${roomKey},${openRoom}`,
          RELAY_STATIC_DIR: staticDir,
          RELAY_MAX_CONN_PER_IP: '100000',
          RELAY_CONNECTS_PER_S_PER_IP: '100000',
          // Links that never connect (announces and offers from peers that are not there) go soon.
          RELAY_SWARM_LINK_TIMEOUT_MS: String(linkReapMs),
          // The fuzzer is one client sending fast: the rate limits (tested apart) stay out of its way.
          RELAY_SIGNAL_FRAMES_PER_S: '1000000',
          RELAY_SIGNAL_FRAME_BURST: '1000000',
          RELAY_SIGNAL_BYTES_PER_S: '1000000000',
          RELAY_SIGNAL_BYTE_BURST: '1000000000',
        },
        (health) => swarmOf(health as Health)?.state.state === 'ready',
      )
      const keyedPeer = await joinAsNodePeer(keyedRoom, roomKey, relay.signalUrl)
      const openPeer = await joinAsNodePeer(openRoom, null, relay.signalUrl)
      peers.push(keyedPeer, openPeer)
      const [keyedLink, openLink] = await Promise.all([keyedPeer.link(null, linkTimeoutMs), openPeer.link(null, linkTimeoutMs)])
      const rooms: FuzzRooms = {
        keyed: { name: keyedRoom, key: await deriveRoomKey(roomKey, keyedRoom), gatewayPeerId: keyedLink.remotePeerId },
        open: { name: openRoom, gatewayPeerId: openLink.remotePeerId },
      }

      const poller = pollHealth(relay)
      const started = relay
      const [frames, keyedMessages, openMessages] = await Promise.all([
        fuzzSignaling(started, createRandom(random.int(2 ** 31)), rooms, signalFrames),
        fuzzLink(started, createRandom(random.int(2 ** 31)), keyedPeer, rooms.keyed.gatewayPeerId, peerMessagesPerRoom),
        fuzzLink(started, createRandom(random.int(2 ** 31)), openPeer, rooms.open.gatewayPeerId, peerMessagesPerRoom),
      ])
      await sleep(1_000)
      const polled = await poller.stop()
      const health = await readHealth(relay)
      const summary = JSON.stringify({ seed, frames, keyedMessages, openMessages, polled: { ...polled, failures: polled.failures.slice(0, 5) }, health }, null, 1)
      if (process.env.RELAY_FUZZ_VERBOSE === '1') console.log(summary)

      expect(relay.exited(), summary).toBeNull()
      expect(polled.failures, summary).toEqual([])
      expect(polled.polls, summary).toBeGreaterThan(5)
      // Every fault was caught where it happened: nothing reached the process's last resort.
      expect(health.faults, summary).toEqual({ unhandledRejections: 0, uncaughtExceptions: 0 })
      for (const reason of ['invalid-json', 'invalid-frame', 'binary', 'oversized']) expect(health.dropped?.[reason], `${reason}\n${summary}`).toBeGreaterThan(0)
      const keyed = roomOf(health, keyedRoom)
      const opened = roomOf(health, openRoom)
      // Undecryptable envelopes and a member's garbage; an answer to no offer.
      expect(keyed?.dropped.signaling, summary).toBeGreaterThan(0)
      expect(opened?.dropped.signaling, summary).toBeGreaterThan(0)
      // Truncated sync messages, bad awareness JSON, unknown types.
      expect(keyed?.dropped.peer, summary).toBeGreaterThan(0)
      expect(opened?.dropped.peer, summary).toBeGreaterThan(0)

      // No link leaked: every one that never connected was closed, only the members' stay.
      const settled = async (): Promise<Health> => {
        const deadlineMs = Date.now() + 4 * linkReapMs + 10_000
        for (;;) {
          const now = await readHealth(started)
          if ([keyedRoom, openRoom].every((room) => roomOf(now, room)?.links === 1) || Date.now() > deadlineMs) return now
          await sleep(250)
        }
      }
      const afterReap = await settled()
      for (const room of [keyedRoom, openRoom]) expect(roomOf(afterReap, room)?.links, `${room}\n${JSON.stringify(afterReap)}`).toBe(1)
      expect((roomOf(afterReap, keyedRoom)?.dropped['stale-link'] ?? 0) + (roomOf(afterReap, openRoom)?.dropped['stale-link'] ?? 0)).toBeGreaterThan(0)

      // Not wedged: a new member still links to the gateway (y-webrtc allows one doc per room
      // and process, so the fuzzing member leaves first).
      keyedPeer.close()
      peers.splice(peers.indexOf(keyedPeer), 1)
      const late = await joinAsNodePeer(keyedRoom, roomKey, relay.signalUrl)
      peers.push(late)
      await late.link(rooms.keyed.gatewayPeerId, linkTimeoutMs)
      for (const peer of peers.splice(0)) peer.close()
      expect(await relay.stop(), 'exit code after SIGTERM').toBe(0)
    } catch (error) {
      const output = relay?.output() ?? '(the relay did not start)'
      throw new Error(
        `relay fuzz failed with seed ${seed}; replay: RELAY_FUZZ_SEED=${seed} npx vitest run test/unit/relay-fuzz.test.ts\n${error instanceof Error ? error.message : String(error)}\n--- relay output (last lines) ---\n${output.slice(-6_000)}`,
        { cause: error },
      )
    } finally {
      for (const peer of peers) peer.close()
      await relay?.stop()
      await rm(staticDir, { recursive: true, force: true })
    }
  }, 150_000)
})

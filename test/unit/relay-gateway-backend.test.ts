// The swarm backend over an in-process room (market-sim's connected docs) instead of WebRTC,
// and once with real WebRTC loaded and nobody to talk to.
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createSwarmBackend, shutdownTaskReason, type SwarmDeps } from '../../src/relay/gateway/backend'
import type { SwarmConfig } from '../../src/relay/gateway/config'
import { WebrtcUnavailableError } from '../../src/relay/gateway/node-webrtc'
import { hasReadyModel } from '../../src/relay/gateway/room-peer'
import { createLogger } from '../../src/relay/log'
import type { Backend, BackendRequest } from '../../src/relay/v1/backend'
import type { ChatCompletionChunk } from '../../src/shared/openai'
import type { LivePeer } from '../../src/market'
import { AbortError } from '../../src/shared/errors'
import { room, statusIn, type RoomMember } from './market-sim/room'
import { closedPort, startRelay, type StartedRelay } from './relay-v1/start'

const log = createLogger('silent')
const config: SwarmConfig = { rooms: [{ name: 'lobby', key: 'k' }], keyFile: null, dataDir: null, replica: null, signalingUrl: 'ws://127.0.0.1:1/signal', peerWaitMs: 100, linkTimeoutMs: 15_000 }
const request: BackendRequest = { model: 'swarm/lobby', messages: [{ role: 'user', content: 'What is the capital of France?' }], max_tokens: 12 }
const readyPeer: LivePeer = {
  nodeId: 'a'.repeat(20),
  engine: { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 1, decodeTokensPerS: 1 },
  queueLength: 0,
  visible: true,
  linkDelayMs: 1,
}

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const all: ChatCompletionChunk[] = []
  for await (const chunk of chunks) all.push(chunk)
  return all
}

/** A backend whose room is `poster`'s market; `ready` says whether a model is ready there. */
function backendOver(poster: RoomMember, ready: () => boolean, overrides: Partial<SwarmDeps> = {}): { backend: Backend; closed: () => number } {
  let closed = 0
  const backend = createSwarmBackend(config, log, {
    loadWebrtc: () => Promise.resolve({ RTCPeerConnection: null, RTCSessionDescription: null, RTCIceCandidate: null }),
    loadSigner: () => Promise.resolve(poster.signer),
    joinRoom: (spec) => ({
      name: spec.name,
      market: poster.market,
      livePeers: () => (ready() ? [readyPeer] : []),
      readyPeers: () => (ready() ? [readyPeer] : []),
      waitForReadyPeer: (_waitMs, signal) => (signal.aborted ? Promise.reject(new AbortError('aborted')) : Promise.resolve(ready())),
      close: () => {
        closed++
      },
    }),
    ...overrides,
  })
  return { backend, closed: () => closed }
}

describe('swarm backend', () => {
  let cleanup: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step()
    cleanup = []
  })

  it('streams the winning peer’s answer: content, one finish reason, then usage', async () => {
    const { members } = await room([null, 400])
    const [poster, executor] = members as [RoomMember, RoomMember]
    const { backend, closed } = backendOver(poster, () => true)
    cleanup.push(
      () => backend.close(),
      () => Promise.resolve(members.forEach((member) => member.market.destroy())),
    )
    expect(backend.serves('swarm')).toBe(true)
    expect(backend.serves('swarm/lobby')).toBe(true)
    expect(backend.serves('swarm/other')).toBe(false)
    expect((await backend.models(new AbortController().signal)).map((model) => model.id)).toEqual(['swarm/lobby'])

    const chunks = await collect(backend.chat(request, new AbortController().signal))
    const text = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? '')).join('')
    expect(text.length).toBeGreaterThan(0)
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant')
    expect(chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason)).filter((reason) => reason !== null)).toEqual(['stop'])
    expect(chunks.at(-1)).toMatchObject({ choices: [], model: 'swarm/lobby' })
    expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0)
    expect(executor.errors).toEqual([])
    expect(backend.state()).toEqual({ state: 'ready', active: 0, queued: 0 })
    await backend.close()
    expect(closed()).toBe(1)
  })

  it('answers 503 when no peer of the room has a ready model', async () => {
    const { members } = await room([null])
    const { backend } = backendOver(members[0] as RoomMember, () => false)
    cleanup.push(() => backend.close())
    await expect(collect(backend.chat(request, new AbortController().signal))).rejects.toMatchObject({ status: 503, code: 'swarm_no_ready_peer', headers: { 'Retry-After': '5' } })
  })

  it('answers 404 for a room it did not join, 400 for what nodes cannot take', async () => {
    const { members } = await room([null])
    const { backend } = backendOver(members[0] as RoomMember, () => true)
    cleanup.push(() => backend.close())
    await expect(collect(backend.chat({ ...request, model: 'swarm/elsewhere' }, new AbortController().signal))).rejects.toMatchObject({ status: 404, code: 'model_not_found' })
    await expect(collect(backend.chat({ ...request, max_tokens: 100_000 }, new AbortController().signal))).rejects.toMatchObject({ status: 400, param: 'max_tokens' })
  })

  it('answers 400 naming the field when no ready node says it supports tools or JSON, before posting a task, and takes what nodes cannot as a 400', async () => {
    const { members } = await room([null])
    const poster = members[0] as RoomMember
    const { backend } = backendOver(poster, () => true)
    cleanup.push(() => backend.close())
    const tools = [{ type: 'function' as const, function: { name: 'get_weather' } }]
    // The ready peer's presence has no `supports`: an engine from before tools, or one without them.
    await expect(collect(backend.chat({ ...request, tools }, new AbortController().signal))).rejects.toMatchObject({ status: 400, param: 'tools', code: 'swarm_unsupported' })
    const json = { type: 'json_schema' as const, json_schema: { name: 'x', schema: { type: 'object' } } }
    await expect(collect(backend.chat({ ...request, response_format: json }, new AbortController().signal))).rejects.toMatchObject({ status: 400, param: 'response_format' })
    const answer = { role: 'tool' as const, content: 'sunny', tool_call_id: 'not a valid id: spaces' }
    await expect(collect(backend.chat({ ...request, messages: [...request.messages, answer] }, new AbortController().signal))).rejects.toMatchObject({ status: 400, param: 'messages' })
    expect(poster.market.tasks().length).toBe(0)
  })

  it('answers 503 when the task finds no bidder, before any chunk', async () => {
    // The market believes a peer is ready, but nobody in the doc runs an engine.
    const { members } = await room([null])
    const { backend } = backendOver(members[0] as RoomMember, () => true)
    cleanup.push(() => backend.close())
    await expect(collect(backend.chat(request, new AbortController().signal))).rejects.toMatchObject({ status: 503, code: 'swarm_task_failed' })
  })

  it('cancels the task when the client goes away mid-stream', async () => {
    const { members } = await room([null, 5])
    const [poster] = members as [RoomMember, RoomMember]
    const { backend } = backendOver(poster, () => true)
    cleanup.push(
      () => backend.close(),
      () => Promise.resolve(members.forEach((member) => member.market.destroy())),
    )
    const client = new AbortController()
    const chunks = backend.chat(request, client.signal)[Symbol.asyncIterator]()
    const first = await chunks.next()
    expect(first.done).toBe(false)
    client.abort()
    await expect(chunks.next()).rejects.toBeInstanceOf(AbortError)
    const tasks = poster.doc.getMap<unknown>('tasks')
    await expect.poll(() => [...tasks.keys()].map((taskId) => statusIn(poster.doc, taskId))).toEqual(['cancelled'])
  })

  it('ends a stream in flight with relay_restarting when the relay shuts down, and cancels its task with that reason', async () => {
    const { members } = await room([null, 5])
    const [poster] = members as [RoomMember, RoomMember]
    const { backend } = backendOver(poster, () => true)
    cleanup.push(
      () => backend.close(),
      () => Promise.resolve(members.forEach((member) => member.market.destroy())),
    )
    const chunks = backend.chat(request, new AbortController().signal)[Symbol.asyncIterator]()
    expect((await chunks.next()).done).toBe(false)
    backend.stop?.()
    await expect(chunks.next()).rejects.toMatchObject({ name: 'ApiError', status: 503, code: 'relay_restarting', message: /the relay is shutting down/ })
    const tasks = poster.doc.getMap<unknown>('tasks')
    await expect.poll(() => [...tasks.keys()].map((taskId) => statusIn(poster.doc, taskId))).toEqual(['cancelled'])
    const task = [...tasks.values()][0] as Y.Map<unknown>
    expect(task.get('close')).toMatchObject({ status: 'cancelled', reason: shutdownTaskReason })
    // Nothing new starts while it stops.
    await expect(collect(backend.chat(request, new AbortController().signal))).rejects.toMatchObject({ code: 'relay_restarting' })
  })

  it('fails with the reason when WebRTC cannot load, and says so in its state', async () => {
    const { members } = await room([null])
    const { backend } = backendOver(members[0] as RoomMember, () => true, { loadWebrtc: () => Promise.reject(new WebrtcUnavailableError('no binary for this platform')) })
    cleanup.push(() => backend.close())
    await expect(collect(backend.chat(request, new AbortController().signal))).rejects.toMatchObject({ status: 503, code: 'backend_failed', message: /no binary for this platform/ })
    expect(backend.state()).toEqual({ state: 'failed', reason: 'no binary for this platform' })
  })

  it('counts only webgpu and wasm engines that are ready or busy', () => {
    const engine = readyPeer.engine ?? undefined
    if (!engine) throw new Error('fixture')
    expect(hasReadyModel(readyPeer)).toBe(true)
    expect(hasReadyModel({ ...readyPeer, engine: { ...engine, state: 'busy' } })).toBe(true)
    expect(hasReadyModel({ ...readyPeer, engine: { ...engine, state: 'loading' } })).toBe(false)
    expect(hasReadyModel({ ...readyPeer, engine: { ...engine, kind: 'none' } })).toBe(false)
    expect(hasReadyModel({ ...readyPeer, engine: null })).toBe(false)
  })
})

describe('swarm gateway in a relay, with real WebRTC and no peers', () => {
  let relay: StartedRelay | undefined
  afterEach(async () => {
    await relay?.close()
    relay = undefined
  })

  it('lists its rooms, answers 503 with a clear message, and closes cleanly', async () => {
    // Signaling nobody answers: the relay keeps trying while it serves.
    relay = await startRelay({ RELAY_ROOMS: 'lobby#k,team', RELAY_SWARM_SIGNALING_URL: `ws://127.0.0.1:${await closedPort()}/signal`, RELAY_SWARM_WAIT_MS: '200' })
    const models = (await (await fetch(`${relay.baseUrl}/v1/models`)).json()) as { data: { id: string }[] }
    expect(models.data.map((model) => model.id)).toEqual(['swarm/lobby', 'swarm/team'])
    const answer = await fetch(`${relay.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'swarm/team', messages: [{ role: 'user', content: 'anyone?' }], stream: true }),
    })
    expect(answer.status).toBe(503)
    expect(answer.headers.get('retry-after')).toBe('5')
    expect(((await answer.json()) as { error: { message: string } }).error.message).toMatch(/no node with a ready model is in room team/)
    const health = (await (await fetch(`${relay.baseUrl}/healthz`)).json()) as { backends: unknown[] }
    const noDrops = { peer: 0, signaling: 0, broadcast: 0, oversized: 0, flood: 0, 'stale-link': 0, 'too-many-links': 0 }
    expect(health.backends).toEqual([
      {
        name: 'swarm',
        state: { state: 'ready', active: 0, queued: 0 },
        details: {
          rooms: [
            { room: 'lobby', peers: 0, ready: 0, links: 0, dropped: noDrops, replica: null },
            { room: 'team', peers: 0, ready: 0, links: 0, dropped: noDrops, replica: null },
          ],
        },
      },
    ])
  })
})

// Embeddings through the swarm gateway, in an in-process room (market-sim's connected docs): the
// executors are real MarketNodes whose embedder is node-llama-cpp on the tiny bert GGUF (what a
// browser node with memory search on runs with wllama), so the vectors are a real model's, sent
// as embedding tasks through the real market. The embedding contract; the official openai
// client through /v1 (createV1Api over this backend); a peer's model id as `model`; hostile
// executors whose vectors are one short, too narrow or hold a NaN, refused by the poster.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { LivePeer, MarketEmbedder } from '../../src/market'
import { createSwarmBackend } from '../../src/relay/gateway/backend'
import type { SwarmConfig } from '../../src/relay/gateway/config'
import { createLogger } from '../../src/relay/log'
import { createV1Api } from '../../src/relay/v1/api'
import type { Backend } from '../../src/relay/v1/backend'
import { loadV1Config } from '../../src/relay/v1/config'
import { createEmbeddingBackend } from '../../src/relay/v1/embedded-embedding'
import { AbortError } from '../../src/shared/errors'
import { runEmbeddingContract } from '../contracts/backend-embed'
import { backendEmbedder, hostileEmbedder, type Corruption } from './backend/backend-embedder'
import { tinyEmbeddingModelId, tinyEmbeddingModelPath, untilReady } from './backend/tiny-model'
import { room, type RoomMember } from './market-sim/room'

const log = createLogger('silent')
const config: SwarmConfig = { rooms: [{ name: 'lobby', key: 'k' }], keyFile: null, dataDir: null, replica: null, signalingUrl: 'ws://127.0.0.1:1/signal', peerWaitMs: 1_000, linkTimeoutMs: 15_000 }
/** The tiny bert's width. */
const dimensions = 64
const texts = ['the sea at night', 'a memory of rain', 'a third text']

type EmbedderOf = () => MarketEmbedder | null

interface SwarmRoom {
  backend: Backend
  members: RoomMember[]
  close(): Promise<void>
}

/** A gateway backend whose room has one executor per entry of `embedders`, each a MarketNode with that embedder. */
async function swarmRoom(embedders: EmbedderOf[]): Promise<SwarmRoom> {
  const { members } = await room([null, ...embedders.map(() => 1000)], undefined, 100, (index) => (index === 0 ? {} : { embedder: embedders[index - 1] ?? (() => null) }))
  const [poster, ...executors] = members as [RoomMember, ...RoomMember[]]
  const peers = (): LivePeer[] =>
    executors.map((executor, index) => {
      const embedder = embedders[index]?.() ?? null
      return {
        nodeId: executor.signer.nodeId,
        engine: { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 1000, decodeTokensPerS: 1000 },
        queueLength: 0,
        visible: true,
        linkDelayMs: 1,
        embedder: embedder === null ? null : { modelId: embedder.modelId, dimensions: embedder.dimensions },
      }
    })
  const backend = createSwarmBackend(config, log, {
    loadWebrtc: () => Promise.resolve({ RTCPeerConnection: null, RTCSessionDescription: null, RTCIceCandidate: null }),
    loadSigner: () => Promise.resolve(poster.signer),
    joinRoom: (spec) => ({
      name: spec.name,
      market: poster.market,
      livePeers: peers,
      readyPeers: peers,
      async waitForReadyPeer(waitMs, signal, isReady = () => true) {
        const until = Date.now() + waitMs
        for (;;) {
          if (signal.aborted) throw new AbortError('aborted')
          if (peers().some(isReady)) return true
          if (Date.now() > until) return false
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      },
      close: () => undefined,
    }),
  })
  await untilReady(backend)
  return {
    backend,
    members,
    async close() {
      await backend.close()
      for (const member of members) member.market.destroy()
      const errors = members.flatMap((member) => member.errors)
      if (errors.length > 0) throw new AggregateError(errors, 'the room reported errors')
    },
  }
}

let model: Backend
let honest: ReturnType<typeof backendEmbedder>

beforeAll(async () => {
  model = createEmbeddingBackend({ modelPath: tinyEmbeddingModelPath, threads: 1, contextSize: 512, gpu: false }, log)
  await untilReady(model)
  honest = backendEmbedder(model, tinyEmbeddingModelId, dimensions)
}, 60_000)

afterAll(async () => {
  await model.close()
})

runEmbeddingContract('swarm (the gateway in an in-process room; the executor a MarketNode whose embedder is the tiny bert GGUF)', {
  open: async () => {
    const swarm = await swarmRoom([() => honest])
    return { backend: swarm.backend, model: 'swarm/lobby', cleanup: () => swarm.close().then(() => undefined) }
  },
})

describe('embeddings through the swarm gateway', () => {
  let opened: SwarmRoom[] = []
  let servers: Server[] = []
  afterEach(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve))
    for (const swarm of opened) await swarm.close()
    opened = []
    servers = []
  })
  const open = async (embedders: EmbedderOf[]): Promise<SwarmRoom> => {
    const swarm = await swarmRoom(embedders)
    opened.push(swarm)
    return swarm
  }
  const direct = async (input: string[]): Promise<number[][]> => (await model.embed?.({ model: tinyEmbeddingModelId, input }, new AbortController().signal))?.vectors ?? []

  it('answers the official openai client through /v1, floats and its default base64, with the peer’s vectors', async () => {
    const swarm = await open([() => honest])
    const api = createV1Api(loadV1Config({}), log, [swarm.backend])
    const server = createServer((req, res) => void api.handle(req, res, new URL(req.url ?? '/', 'http://x').pathname, 'local'))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'none', maxRetries: 0, timeout: 30_000 })
    const expected = await direct(texts)
    const floats = await client.embeddings.create({ model: 'swarm/lobby', input: texts, encoding_format: 'float' })
    expect(floats.model).toBe(tinyEmbeddingModelId)
    floats.data.forEach((item, index) => item.embedding.forEach((value, at) => expect(value).toBeCloseTo(expected[index]?.[at] ?? Number.NaN, 5)))
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0)
    const byDefault = await client.embeddings.create({ model: 'swarm/lobby', input: texts })
    byDefault.data.forEach((item, index) => expect(item.embedding).toEqual(Array.from(new Float32Array(floats.data[index]?.embedding ?? []))))
    // The peer's model id names the model too, and /v1/models lists it.
    expect((await client.models.list()).data.map((listed) => listed.id)).toEqual(['swarm/lobby', tinyEmbeddingModelId])
    const byId = await client.embeddings.create({ model: tinyEmbeddingModelId, input: texts[0] ?? '', encoding_format: 'float' })
    expect(byId.data[0]?.embedding).toEqual(floats.data[0]?.embedding)
    // The peer's embedding model answers no chat.
    await expect(client.chat.completions.create({ model: tinyEmbeddingModelId, messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 400, code: 'model_not_chat' })
  })

  it('cuts many texts into several tasks and puts their vectors back in order', async () => {
    const swarm = await open([() => honest])
    const many = Array.from({ length: 300 }, (_unused, index) => `text number ${index}`)
    const embeddings = await swarm.backend.embed?.({ model: 'swarm/lobby', input: many }, new AbortController().signal)
    const expected = await direct([many[0] ?? '', many[299] ?? ''])
    expect(embeddings?.vectors).toHaveLength(300)
    embeddings?.vectors[0]?.forEach((value, at) => expect(value).toBeCloseTo(expected[0]?.[at] ?? Number.NaN, 5))
    embeddings?.vectors[299]?.forEach((value, at) => expect(value).toBeCloseTo(expected[1]?.[at] ?? Number.NaN, 5))
    expect(swarm.members[0]?.market.loggedCount()).toBeGreaterThanOrEqual(2)
  })

  it('answers 503 naming the missing embedder when no peer has one', async () => {
    const swarm = await open([() => null])
    await expect(swarm.backend.embed?.({ model: 'swarm/lobby', input: texts }, new AbortController().signal)).rejects.toMatchObject({ status: 503, code: 'swarm_no_embedder' })
  })

  for (const corruption of ['count', 'dimensions', 'nan'] satisfies Corruption[]) {
    it(`refuses a hostile peer’s vectors (${corruption}): the award lapses and an honest peer answers`, async () => {
      const hostile = hostileEmbedder(honest, corruption)
      // The honest peer's model loads only once the hostile one has answered: the hostile one wins the first award.
      const swarm = await open([() => hostile, () => (hostile.calls() > 0 ? honest : null)])
      const embeddings = await swarm.backend.embed?.({ model: 'swarm/lobby', input: texts }, new AbortController().signal)
      expect(hostile.calls()).toBe(1)
      const expected = await direct(texts)
      expect(embeddings?.vectors).toHaveLength(texts.length)
      embeddings?.vectors.forEach((vector, index) => vector.forEach((value, at) => expect(value).toBeCloseTo(expected[index]?.[at] ?? Number.NaN, 5)))
    })
  }

  it('never answers with a hostile peer’s vectors when it is the only one: the task fails, 503', async () => {
    const swarm = await open([() => hostileEmbedder(honest, 'nan')])
    await expect(swarm.backend.embed?.({ model: 'swarm/lobby', input: texts }, new AbortController().signal)).rejects.toMatchObject({ status: 503, code: 'swarm_task_failed' })
  }, 20_000)
})

// The backend contract on the swarm gateway backend. Its room is in-process (market-sim's
// connected docs, no WebRTC, no browser); the peer that wins its tasks is a real MarketNode whose
// engine runs the tiny Qwen3 GGUF (llama.cpp, reached through RelayEngine and a relay in this
// process), so the answers, stops and aborts are a real model's, through the real market.
import type { Engine } from '../../src/inference/engine'
import { RelayEngine } from '../../src/inference/relay-engine'
import type { ChatChunk, ChatRequest, EngineInfo, LoadProgress } from '../../src/inference/types'
import type { LivePeer } from '../../src/market'
import { createSwarmBackend } from '../../src/relay/gateway/backend'
import type { SwarmConfig } from '../../src/relay/gateway/config'
import { createLogger } from '../../src/relay/log'
import { AbortError } from '../../src/shared/errors'
import { runBackendContract } from '../contracts/backend'
import { tinyModelPath, untilReady } from './backend/tiny-model'
import { room, type RoomMember } from './market-sim/room'
import { startRelay, waitForBackendReady } from './relay-v1/start'

/**
 * The model as a node's own engine: the market bids only with a local (webgpu or wasm) engine,
 * which is what a browser node running this GGUF with wllama is. Everything else is RelayEngine's.
 */
class NodeModel implements Engine {
  readonly kind = 'wasm' as const
  constructor(private readonly model: RelayEngine) {}
  load(onProgress: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<void> {
    return this.model.load(onProgress, signal)
  }
  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    return this.model.chat(request, signal)
  }
  info(): EngineInfo {
    return { ...this.model.info(), kind: this.kind }
  }
  unload(): Promise<void> {
    return this.model.unload()
  }
}

const config: SwarmConfig = { rooms: [{ name: 'lobby', key: 'k' }], keyFile: null, signalingUrl: 'ws://127.0.0.1:1/signal', peerWaitMs: 2_000, linkTimeoutMs: 15_000 }

runBackendContract('swarm (the gateway in an in-process room; the executor a MarketNode on the tiny GGUF)', {
  open: async () => {
    const relay = await startRelay({ RELAY_MODEL_PATH: tinyModelPath, RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', RELAY_MODEL_CONTEXT: '1024' })
    let members: RoomMember[] = []
    try {
      await waitForBackendReady(relay)
      const engine = new RelayEngine({ baseUrl: `${relay.baseUrl}/v1`, token: () => '' })
      await engine.load(() => undefined)
      // One answer first, so the executor bids with a measured speed, as a warmed-up node does.
      for await (const chunk of engine.chat({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 })) if (chunk.choices[0].finish_reason !== null) break
      members = (await room([null, new NodeModel(engine)])).members
    } catch (error) {
      await relay.close()
      throw error
    }
    const [poster, executor] = members as [RoomMember, RoomMember]
    const executorPeer = (): LivePeer => {
      const info = executor.engine?.info()
      return {
        nodeId: executor.signer.nodeId,
        engine: { kind: 'wasm', modelId: info?.modelId ?? '', state: 'ready', prefillTokensPerS: info?.prefillTokensPerS ?? 0, decodeTokensPerS: info?.decodeTokensPerS ?? 0 },
        queueLength: 0,
        visible: true,
        linkDelayMs: 1,
      }
    }
    const backend = createSwarmBackend(config, createLogger('silent'), {
      loadWebrtc: () => Promise.resolve({ RTCPeerConnection: null, RTCSessionDescription: null, RTCIceCandidate: null }),
      loadSigner: () => Promise.resolve(poster.signer),
      joinRoom: (spec) => ({
        name: spec.name,
        market: poster.market,
        livePeers: () => [executorPeer()],
        readyPeers: () => [executorPeer()],
        waitForReadyPeer: (_waitMs, signal) => (signal.aborted ? Promise.reject(new AbortError('aborted')) : Promise.resolve(true)),
        close: () => undefined,
      }),
    })
    await untilReady(backend)
    return {
      backend,
      model: 'swarm/lobby',
      cleanup: async () => {
        for (const member of members) member.market.destroy()
        await relay.close()
        const errors = members.flatMap((member) => member.errors)
        if (errors.length > 0) throw new AggregateError(errors, 'the room reported errors')
      },
    }
  },
})

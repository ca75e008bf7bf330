// The swarm gateway backend in an in-process room (market-sim's connected docs, no WebRTC, no
// browser), the peer that wins its tasks a real MarketNode whose engine runs a tiny GGUF
// (node-llama-cpp through the embedded backend, in this process): the answers, stops, aborts,
// tool calls and JSON are a real model's, through the real market.
import type { LivePeer } from '../../../src/market'
import { createSwarmBackend } from '../../../src/relay/gateway/backend'
import type { SwarmConfig } from '../../../src/relay/gateway/config'
import { createLogger } from '../../../src/relay/log'
import type { Backend } from '../../../src/relay/v1/backend'
import { createEmbeddedBackend } from '../../../src/relay/v1/embedded'
import { AbortError } from '../../../src/shared/errors'
import { room, type RoomMember } from '../market-sim/room'
import { BackendEngine } from './backend-engine'
import { untilReady } from './tiny-model'

const config: SwarmConfig = { rooms: [{ name: 'lobby', key: 'k' }], keyFile: null, dataDir: null, replica: null, signalingUrl: 'ws://127.0.0.1:1/signal', peerWaitMs: 2_000, linkTimeoutMs: 15_000 }

/** The gateway serving `swarm/lobby`, its executor on the GGUF at `modelPath`; `cleanup` ends the room and the model. */
export async function openSwarmRoom(modelPath: string, modelId: string): Promise<{ backend: Backend; model: string; cleanup: () => Promise<void> }> {
  const model = createEmbeddedBackend({ modelPath, concurrency: 1, threads: 1, contextSize: 1024, maxQueue: 4, gpu: false }, createLogger('silent'))
  let members: RoomMember[] = []
  try {
    const engine = new BackendEngine(model, modelId, 1024)
    await engine.load()
    // One answer first, so the executor bids with a measured speed, as a warmed-up node does.
    for await (const chunk of engine.chat({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 })) if (chunk.choices[0].finish_reason !== null) break
    members = (await room([null, engine])).members
  } catch (error) {
    await model.close()
    throw error
  }
  const [poster, executor] = members as [RoomMember, RoomMember]
  const executorPeer = (): LivePeer => {
    const info = executor.engine?.info()
    return {
      nodeId: executor.signer.nodeId,
      engine: {
        kind: 'wasm',
        modelId: info?.modelId ?? '',
        state: 'ready',
        prefillTokensPerS: info?.prefillTokensPerS ?? 0,
        decodeTokensPerS: info?.decodeTokensPerS ?? 0,
        ...(info === undefined ? {} : { supports: info.supports }),
      },
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
      await model.close()
      const errors = members.flatMap((member) => member.errors)
      if (errors.length > 0) throw new AggregateError(errors, 'the room reported errors')
    },
  }
}

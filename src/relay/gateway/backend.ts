// The `swarm` backend: model `swarm` (the first room of RELAY_ROOMS) or `swarm/<room>`. The
// relay joins each room as a peer, posts the request into the room's task market, and streams
// back the answer of the browser node that wins it.
import type { ChatCompletionChunk, ModelInfo } from '../../shared/openai'
import { AbortError, ValidationError } from '../../shared/errors'
import type { Signer } from '../../shared/sign'
import { readPackageVersion } from '../health'
import type { Logger } from '../log'
import type { Backend, BackendRequest, BackendState } from '../v1/backend'
import { ApiError, badRequest } from '../v1/errors'
import { roomOfModel, type SwarmConfig } from './config'
import { loadRelaySigner } from './identity'
import { guardUndecryptable, loadWebrtc, type Wrtc } from './node-webrtc'
import { RoomPeer } from './room-peer'
import { chunksOfTask, toTaskRequest } from './translate'

/** How the backend reaches WebRTC and its identity; tests replace them. */
export interface SwarmDeps {
  loadWebrtc: () => Promise<Wrtc>
  loadSigner: (keyFile: string | null) => Promise<Signer>
  /** Joins one room; the default is a y-webrtc peer. */
  joinRoom: (spec: SwarmConfig['rooms'][number], signer: Signer, wrtc: Wrtc) => Pick<RoomPeer, 'name' | 'market' | 'readyPeers' | 'livePeers' | 'waitForReadyPeer' | 'close'>
}

type JoinedRoom = ReturnType<SwarmDeps['joinRoom']>

export function createSwarmBackend(config: SwarmConfig, log: Logger, deps: Partial<SwarmDeps> = {}): Backend {
  const createdS = Math.floor(Date.now() / 1000)
  const joined = new Map<string, JoinedRoom>()
  let undecryptable = 0
  const unguard = guardUndecryptable(() => {
    undecryptable++
    // Once, then every 100th: a peer with another key keeps announcing itself.
    if (undecryptable % 100 === 1) log.warn('swarm: a signaling message could not be decrypted: a node of a joined room uses another key', { count: undecryptable })
  })
  const joinRoom: SwarmDeps['joinRoom'] =
    deps.joinRoom ?? ((spec, signer, wrtc) => new RoomPeer({ spec, signer, wrtc, signalingUrl: config.signalingUrl, version: readPackageVersion(), log }))
  let state: BackendState = { state: 'loading' }
  const lifecycle = { closed: false }
  let active = 0

  const started = (async () => {
    const [wrtc, signer] = await Promise.all([(deps.loadWebrtc ?? loadWebrtc)(), (deps.loadSigner ?? loadRelaySigner)(config.keyFile)])
    if (lifecycle.closed) return
    for (const spec of config.rooms) joined.set(spec.name, joinRoom(spec, signer, wrtc))
    state = { state: 'ready', active: 0, queued: 0 }
    log.info('swarm gateway joined its rooms', { rooms: config.rooms.map((room) => room.name), nodeId: signer.nodeId, signaling: config.signalingUrl })
  })()
  started.catch((error: unknown) => {
    state = { state: 'failed', reason: error instanceof Error ? error.message : String(error) }
    log.error('swarm gateway failed to start', { error })
  })

  async function roomFor(model: string, signal: AbortSignal): Promise<JoinedRoom> {
    const spec = roomOfModel(model, config.rooms)
    if (spec === null) {
      const served = config.rooms.map((room) => `swarm/${room.name}`).join(', ')
      throw new ApiError(404, `model ${JSON.stringify(model)}: this relay is in no such room; it serves ${served}`, 'invalid_request_error', 'model_not_found', 'model')
    }
    await started.catch(() => undefined)
    if (signal.aborted) throw new AbortError('the client went away')
    const room = joined.get(spec.name)
    if (room === undefined) {
      const reason = state.state === 'failed' ? state.reason : 'the relay is shutting down'
      throw new ApiError(503, `the swarm gateway is not available: ${reason}`, 'server_error', 'backend_failed')
    }
    return room
  }

  async function* chat(request: BackendRequest, signal: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
    const taskRequest = toTaskRequest(request)
    const room = await roomFor(request.model, signal)
    if (!(await room.waitForReadyPeer(config.peerWaitMs, signal))) {
      const peers = room.livePeers().length
      throw new ApiError(
        503,
        `no node with a ready model is in room ${room.name} (${peers} other peer${peers === 1 ? '' : 's'} there, none ready after ${config.peerWaitMs} ms): open the app at /?room=${room.name} with its key and a model, or try again once a node's model has loaded`,
        'server_error',
        'swarm_no_ready_peer',
        null,
        { 'Retry-After': '5' },
      )
    }
    let handle: ReturnType<JoinedRoom['market']['submit']>
    try {
      handle = room.market.submit(taskRequest)
    } catch (error) {
      if (error instanceof ValidationError) throw badRequest(`the swarm cannot take this request: ${error.message}`)
      throw error
    }
    active++
    log.debug('swarm task posted', { room: room.name, taskId: handle.id, readyPeers: room.readyPeers().length })
    try {
      yield* chunksOfTask(handle, taskRequest, request.model, signal)
    } finally {
      active--
    }
  }

  return {
    name: 'swarm',
    serves: (model) => roomOfModel(model, config.rooms) !== null,
    models: () => Promise.resolve(config.rooms.map((room): ModelInfo => ({ id: `swarm/${room.name}`, object: 'model', created: createdS, owned_by: 'edgeswarm-swarm' }))),
    chat,
    state: () => (state.state === 'ready' ? { state: 'ready', active, queued: 0 } : state),
    async close() {
      lifecycle.closed = true
      await started.catch(() => undefined)
      for (const room of joined.values()) room.close()
      joined.clear()
      unguard()
      if (state.state !== 'failed') state = { state: 'unreachable', reason: 'closed' }
    },
  }
}

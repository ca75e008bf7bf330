// The `swarm` backend: model `swarm` (the first room of RELAY_ROOMS) or `swarm/<room>`. The
// relay joins each room as a peer, posts the request into the room's task market, and streams
// back the answer of the browser node that wins it.
import type { ChatRequest } from '../../inference/types'
import { canServe, needs, type TaskHandle } from '../../market'
import type { ChatCompletionChunk, ModelInfo } from '../../shared/openai'
import { AbortError, ValidationError } from '../../shared/errors'
import { roomIdOf } from '../../shared/room-id'
import type { Signer } from '../../shared/sign'
import { readPackageVersion } from '../version'
import type { Logger } from '../log'
import type { Backend, BackendRequest, BackendState } from '../v1/backend'
import { chatOfCompletion, textChunksOfChat } from '../v1/completion-chunks'
import { ApiError, badRequest, relayRestarting } from '../v1/errors'
import type { RoomReplica } from '../replica/room-replica'
import { roomOfModel, type RoomSpec, type SwarmConfig } from './config'
import { loadRelaySigner } from './identity'
import { loadWebrtc, type Wrtc } from './node-webrtc'
import { RoomPeer, type RoomSummary } from './room-peer'
import { openGatewayStorage, type GatewayStorage } from './storage'
import { chunksOfTask, toTaskRequest } from './translate'

/** What the backend needs of a joined room. */
export type JoinedRoom = Pick<RoomPeer, 'name' | 'market' | 'readyPeers' | 'livePeers' | 'waitForReadyPeer' | 'close'> & Partial<Pick<RoomPeer, 'summary' | 'memory'>>

/** The rooms the gateway joined, for entries other than chat (MCP's memory, peer and job tools). */
export interface SwarmRooms {
  /** The RELAY_ROOMS room names, in order. */
  names(): string[]
  /** The joined room `name`, once the gateway has started: 404 for a room not in RELAY_ROOMS, 503 when the gateway failed or closed. */
  room(name: string, signal: AbortSignal): Promise<JoinedRoom>
}

/** The swarm backend, with its rooms. */
export interface SwarmBackend extends Backend {
  readonly name: 'swarm'
  readonly rooms: SwarmRooms
}

export const isSwarmBackend = (backend: Backend): backend is SwarmBackend => backend.name === 'swarm' && 'rooms' in backend

/** How the backend reaches WebRTC and its identity; tests replace them. */
export interface SwarmDeps {
  loadWebrtc: () => Promise<Wrtc>
  loadSigner: (keyFile: string | null) => Promise<Signer>
  /** Joins one room whose identity is `roomId` (roomIdOf), its doc loaded from `replica`; the default is a y-webrtc peer. */
  joinRoom: (spec: RoomSpec, signer: Signer, wrtc: Wrtc, roomId: string, replica: RoomReplica | null) => JoinedRoom
}

/** The reason in the signed close of a task the relay cancels as it shuts down. */
export const shutdownTaskReason = 'relay_restarting: the relay is shutting down; the client was told to ask again'
/** How long a shutdown waits for the cancels it signed to be written into the doc. */
const settleOnCloseMs = 1_000

async function settled(rooms: Iterable<JoinedRoom>, withinMs: number): Promise<void> {
  const until = Date.now() + withinMs
  while ([...rooms].some((room) => room.market.pendingWork > 0) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
}

/** What /healthz shows of the gateway: each room, its peers and what it dropped. */
export type SwarmDetails = { rooms: RoomSummary[] }

/**
 * Tools and constrained JSON run only on nodes whose engine says it supports them (their
 * presence's `supports`): with none of those ready, the request is a 400 naming the field,
 * not a task nobody can take.
 */
function refuseWhatNoPeerServes(request: ChatRequest, room: JoinedRoom): void {
  const needed = needs(request)
  if (!needed.tools && !needed.jsonSchema) return
  const ready = room.readyPeers()
  if (ready.some((peer) => peer.engine?.supports !== undefined && canServe(request, peer.engine.supports))) return
  const field = needed.tools ? 'tools' : 'response_format'
  const what = needed.tools ? 'tool calls' : `response_format ${request.response_format?.type ?? ''}`
  throw new ApiError(
    400,
    `no node with a ready model in room ${room.name} supports ${what} (${ready.length} ready): ask without ${field}, or when such a node has joined`,
    'invalid_request_error',
    'swarm_unsupported',
    field,
  )
}

export function createSwarmBackend(config: SwarmConfig, log: Logger, deps: Partial<SwarmDeps> = {}): SwarmBackend {
  const createdS = Math.floor(Date.now() / 1000)
  const joined = new Map<string, JoinedRoom>()
  const joinRoom: SwarmDeps['joinRoom'] =
    deps.joinRoom ??
    ((spec, signer, wrtc, roomId, replica) =>
      new RoomPeer({
        spec,
        roomId,
        signer,
        wrtc,
        signalingUrl: config.signalingUrl,
        linkTimeoutMs: config.linkTimeoutMs,
        version: readPackageVersion(),
        log,
        replica,
        ...(config.net ? { net: config.net } : {}),
      }))
  let state: BackendState = { state: 'loading' }
  const lifecycle = { closed: false }
  let active = 0
  /** What the backend opened on disk; in a holder, as `started` fills it in. */
  const disk: { storage: GatewayStorage | null } = { storage: null }
  /** Aborted when the relay shuts down: every answer in flight ends with relayRestarting. */
  const shutdown = new AbortController()
  const stopping = (): boolean => shutdown.signal.aborted
  const inFlight = new Set<TaskHandle>()

  const started = (async () => {
    // First: the identity's key file may live in the data directory.
    const storage = (disk.storage = await openGatewayStorage(config, log))
    const [wrtc, signer, roomIds] = await Promise.all([
      (deps.loadWebrtc ?? loadWebrtc)(),
      (deps.loadSigner ?? loadRelaySigner)(storage.keyFile),
      Promise.all(config.rooms.map((spec) => roomIdOf(spec.name, spec.key))),
    ])
    const replicas = await Promise.all(config.rooms.map((spec, index) => storage.replicaOf(roomIds[index] ?? '', spec.name)))
    if (lifecycle.closed) return
    config.rooms.forEach((spec, index) => joined.set(spec.name, joinRoom(spec, signer, wrtc, roomIds[index] ?? '', replicas[index] ?? null)))
    state = { state: 'ready', active: 0, queued: 0 }
    log.info('swarm gateway joined its rooms', {
      rooms: config.rooms.map((room) => room.name),
      nodeId: signer.nodeId,
      signaling: config.signalingUrl,
      keyFile: storage.keyFile,
      replicaDir: config.replica === null ? null : config.dataDir,
    })
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

  async function* chat(request: BackendRequest, clientSignal: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
    if (stopping()) throw relayRestarting('it takes no new requests')
    const signal = AbortSignal.any([clientSignal, shutdown.signal])
    try {
      yield* answer(request, signal)
    } catch (error) {
      if (stopping() && !clientSignal.aborted) throw relayRestarting('this answer was cut short and its task cancelled')
      throw error
    }
  }

  async function* answer(request: BackendRequest, signal: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
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
    refuseWhatNoPeerServes(taskRequest, room)
    let handle: ReturnType<JoinedRoom['market']['submit']>
    try {
      handle = room.market.submit(taskRequest)
    } catch (error) {
      if (error instanceof ValidationError) throw badRequest(`the swarm cannot take this request: ${error.message}`)
      throw error
    }
    active++
    inFlight.add(handle)
    log.debug('swarm task posted', { room: room.name, taskId: handle.id, readyPeers: room.readyPeers().length })
    try {
      yield* chunksOfTask(handle, taskRequest, request.model, signal)
    } finally {
      inFlight.delete(handle)
      active--
    }
  }

  /** Cancels every task in flight with a reason the room reads, then ends their streams. */
  function stop(): void {
    if (stopping()) return
    if (inFlight.size > 0) log.info('swarm gateway: cancelling the tasks in flight', { tasks: inFlight.size })
    for (const handle of inFlight) handle.cancel(shutdownTaskReason)
    shutdown.abort()
  }

  return {
    name: 'swarm',
    serves: (model) => roomOfModel(model, config.rooms) !== null,
    models: () => Promise.resolve(config.rooms.map((room): ModelInfo => ({ id: `swarm/${room.name}`, object: 'model', created: createdS, owned_by: 'edgeswarm-swarm' }))),
    chat,
    // Browser nodes run chat tasks: a prompt goes as the user's turn (chat-templated), no suffix.
    async *complete(request, signal) {
      yield* textChunksOfChat(chat(chatOfCompletion(request, 'swarm'), signal))
    },
    state: () => (state.state === 'ready' ? { state: 'ready', active, queued: 0 } : state),
    details: (): SwarmDetails => ({ rooms: [...joined.values()].flatMap((room) => (room.summary === undefined ? [] : [room.summary()])) }),
    stop,
    rooms: { names: () => config.rooms.map((room) => room.name), room: (name, signal) => roomFor(`swarm/${name}`, signal) },
    async close() {
      lifecycle.closed = true
      stop()
      await started.catch(() => undefined)
      await settled(joined.values(), settleOnCloseMs)
      for (const room of joined.values()) room.close()
      joined.clear()
      await disk.storage?.close()
      if (state.state !== 'failed') state = { state: 'unreachable', reason: 'closed' }
    },
  }
}

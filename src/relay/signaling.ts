// WebSocket /signal: y-webrtc's signaling protocol (as its bin/server.js speaks it), with limits.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { parseSignalingFrame, SignalingFrameError, type PublishFrame } from '../shared/signaling'
import type { SignalingCluster } from './cluster/redis-cluster'
import { createDropCounts, type DropCounts, type DropReason } from './drops'
import { createConnectionLimiter } from './ip-limit'
import type { Logger } from './log'
import { createRooms } from './rooms'
import { createKeyedBuckets, createTokenBucket, type TokenBucket } from './token-bucket'

export interface SignalingLimits {
  maxFrameBytes: number
  maxTopicsPerConn: number
  maxConnPerIp: number
  connectsPerSPerIp: number
  maxConnections: number
  maxTopicSubscribers: number
  idleTimeoutMs: number
  signalFramesPerS: number
  signalFrameBurst: number
  signalBytesPerS: number
  signalByteBurst: number
}

/** What the hub asks of an upgrade request before it becomes a socket. */
export interface UpgradeChecks {
  /** The client's address (behind a trusted proxy, from X-Forwarded-For). */
  clientAddress(req: IncomingMessage): string
  /** The key its per-address limit counts in (IPv6: the /64). */
  addressGroup(address: string): string
  /** Whether the Host header names this relay (DNS rebinding). */
  hostAllowed(req: IncomingMessage): boolean
  /** Whether a browser page of this Origin may signal here. */
  originAllowed(req: IncomingMessage): boolean
}

export interface SignalingStats {
  connections: number
  rooms: number
  publishedFrames: number
  deliveredFrames: number
  dropped: DropCounts
}

export interface SignalingHub {
  /** Completes a WebSocket upgrade of the http server for `/signal`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  stats(): SignalingStats
  /** Closes every socket with 1001; those still open after `graceMs` are cut. */
  close(graceMs: number): Promise<void>
}

const closeCode = {
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  internalError: 1011,
  tryAgainLater: 1013,
} as const

/** An address may open this many times its rate of connections at once. */
const connectBurstFactor = 4

/** How long a socket the relay closed gets to answer the close before it is cut. */
const closeGraceMs = 2_000

interface Peer {
  id: number
  ws: WebSocket
  ip: string
  /** The per-address limit's key. */
  group: string
  frames: TokenBucket
  bytes: TokenBucket
  topics: Set<string>
  openedAtMs: number
  lastSeenAtMs: number
  /** Set once the relay decided to close this socket; later frames are ignored. */
  closeReason: string | undefined
}

function rawDataToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

function errorCode(error: Error): unknown {
  return 'code' in error ? error.code : undefined
}

function rawDataLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.byteLength, 0)
  return data.byteLength
}

function rejectUpgrade(socket: Duplex, status: string, text: string): void {
  socket.on('error', () => socket.destroy())
  const body = `${text}\n`
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

/**
 * Creates the signaling hub; `createRelay` routes `/signal` upgrades to it. With a `cluster`
 * (RELAY_REDIS_URL), its topics are shared with the other relay instances there.
 */
export function createSignalingHub(limits: SignalingLimits, log: Logger, checks: UpgradeChecks, cluster: SignalingCluster | null = null): SignalingHub {
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes, perMessageDeflate: false })
  const peers = new Set<Peer>()
  const connections = createConnectionLimiter(limits.maxConnPerIp)
  // New connections per address: reconnecting must not refill a flooder's publish budget.
  const connects = createKeyedBuckets({ ratePerS: limits.connectsPerSPerIp, burst: connectBurstFactor * limits.connectsPerSPerIp })
  const dropped = createDropCounts()
  // A receiver that stops reading must not make the relay buffer without end.
  const maxBufferedBytes = Math.max(4 * 1024 * 1024, 16 * limits.maxFrameBytes)
  let deliveredFrames = 0
  let nextPeerId = 1
  let closing = false

  const drop = (peer: Peer, reason: DropReason, code: number, detail?: string): void => {
    dropped[reason] += 1
    if (peer.closeReason !== undefined) return
    peer.closeReason = reason
    log.debug('signaling frame dropped', { id: peer.id, reason, detail: detail?.slice(0, 200) })
    peer.ws.close(code, reason)
    // A client that goes on sending instead of answering the close is cut.
    const cutTimer = setTimeout(() => peer.ws.terminate(), closeGraceMs)
    cutTimer.unref()
    peer.ws.once('close', () => clearTimeout(cutTimer))
  }

  const cut = (peer: Peer, reason: DropReason): void => {
    dropped[reason] += 1
    peer.closeReason ??= reason
    peer.ws.terminate()
  }

  const sendTo = (peer: Peer, text: string): void => {
    if (peer.ws.readyState !== WebSocket.OPEN) return
    if (peer.ws.bufferedAmount > maxBufferedBytes) {
      cut(peer, 'slow-consumer')
      return
    }
    deliveredFrames += 1
    peer.ws.send(text, (error) => {
      if (error) log.debug('signaling send failed', { id: peer.id, error })
    })
  }

  const hooks =
    cluster === null ? undefined : { opened: (topic: string) => cluster.opened(topic), closed: (topic: string) => cluster.closed(topic), published: (frame: PublishFrame) => cluster.publish(frame) }
  const rooms = createRooms<Peer>({ maxTopicsPerMember: limits.maxTopicsPerConn, maxSubscribersPerTopic: limits.maxTopicSubscribers }, sendTo, hooks)
  cluster?.onFrame((frame) => rooms.deliver(frame))

  const onMessage = (peer: Peer, data: RawData, isBinary: boolean): void => {
    if (peer.closeReason !== undefined) return
    peer.lastSeenAtMs = Date.now()
    try {
      // Before parsing: a flood costs the relay as little as possible.
      const nowMs = peer.lastSeenAtMs
      if (!peer.frames.take(1, nowMs) || !peer.bytes.take(rawDataLength(data), nowMs)) {
        drop(peer, 'rate-limited', closeCode.policyViolation)
        return
      }
      if (isBinary) {
        drop(peer, 'binary', closeCode.unsupportedData)
        return
      }
      const frame = parseSignalingFrame(rawDataToString(data))
      if (frame instanceof SignalingFrameError) {
        drop(peer, frame.reason, closeCode.policyViolation, frame.message)
        return
      }
      const applied = rooms.apply(peer, frame)
      if (applied === 'too-many-topics') drop(peer, 'too-many-topics', closeCode.policyViolation)
      else if (applied === 'topic-full') drop(peer, 'topic-full', closeCode.tryAgainLater)
    } catch (error) {
      log.error('signaling handler failed', { id: peer.id, error })
      drop(peer, 'internal', closeCode.internalError)
    }
  }

  const onClose = (peer: Peer, code: number, reason: Buffer): void => {
    rooms.leave(peer)
    peers.delete(peer)
    connections.release(peer.group)
    log.info('signaling connection closed', {
      id: peer.id,
      ip: peer.ip,
      code,
      reason: peer.closeReason ?? (reason.toString('utf8') || 'client closed'),
      durationMs: Date.now() - peer.openedAtMs,
    })
  }

  const refuse = (ws: WebSocket, reason: DropReason, text: string, detail: Record<string, unknown>): void => {
    dropped[reason] += 1
    ws.on('error', () => undefined)
    ws.close(closeCode.tryAgainLater, text)
    log.info('signaling connection refused', { reason, ...detail })
  }

  const onConnection = (ws: WebSocket, req: IncomingMessage): void => {
    const ip = checks.clientAddress(req)
    const group = checks.addressGroup(ip)
    if (peers.size >= limits.maxConnections) {
      refuse(ws, 'server-full', 'the relay has all the signaling connections it takes', { ip, open: peers.size })
      return
    }
    if (!connects.take(group)) {
      refuse(ws, 'connect-rate', 'this address opens connections too fast', { ip, group })
      return
    }
    if (!connections.tryAcquire(group)) {
      refuse(ws, 'conn-limit', 'too many connections from this address', { ip, group, openCount: connections.openCount(group) })
      return
    }
    const nowMs = Date.now()
    const peer: Peer = {
      id: nextPeerId++,
      ws,
      ip,
      group,
      frames: createTokenBucket({ ratePerS: limits.signalFramesPerS, burst: limits.signalFrameBurst }, nowMs),
      bytes: createTokenBucket({ ratePerS: limits.signalBytesPerS, burst: limits.signalByteBurst }, nowMs),
      topics: new Set(),
      openedAtMs: nowMs,
      lastSeenAtMs: nowMs,
      closeReason: undefined,
    }
    peers.add(peer)
    ws.on('message', (data, isBinary) => onMessage(peer, data, isBinary))
    const markSeen = (): void => {
      peer.lastSeenAtMs = Date.now()
    }
    ws.on('pong', markSeen)
    ws.on('ping', markSeen)
    ws.on('close', (code, reason) => onClose(peer, code, reason))
    ws.on('error', (error) => {
      // ws has already closed the socket (1009 for maxPayload, 1002/1007 for protocol errors).
      const reason: DropReason = errorCode(error) === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'oversized' : 'protocol'
      dropped[reason] += 1
      peer.closeReason ??= reason
      log.debug('signaling socket error', { id: peer.id, reason, error })
    })
    log.info('signaling connection opened', { id: peer.id, ip })
  }

  const sweep = setInterval(() => {
    const nowMs = Date.now()
    for (const peer of peers) {
      if (peer.closeReason !== undefined) continue
      // Silent for the whole timeout, pings included: half-open or hung; no close handshake to wait for.
      if (nowMs - peer.lastSeenAtMs >= limits.idleTimeoutMs) cut(peer, 'idle')
      else peer.ws.ping()
    }
  }, limits.idleTimeoutMs / 2)
  sweep.unref()

  return {
    handleUpgrade(req, socket, head) {
      if (closing) {
        rejectUpgrade(socket, '503 Service Unavailable', 'the relay is shutting down')
        return
      }
      if (!checks.hostAllowed(req)) {
        dropped.host += 1
        log.debug('signaling upgrade refused', { reason: 'host', host: req.headers.host?.slice(0, 200) })
        rejectUpgrade(socket, '403 Forbidden', 'this relay does not serve that host name (RELAY_PUBLIC_HOSTS)')
        return
      }
      if (!checks.originAllowed(req)) {
        dropped.origin += 1
        log.debug('signaling upgrade refused', { reason: 'origin', origin: req.headers.origin?.slice(0, 200) })
        rejectUpgrade(socket, '403 Forbidden', 'pages of this origin may not signal through this relay (RELAY_SIGNAL_ORIGINS)')
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req))
    },
    stats: () => ({
      connections: peers.size,
      rooms: rooms.roomCount,
      publishedFrames: rooms.publishedFrames,
      deliveredFrames,
      dropped: { ...dropped },
    }),
    async close(graceMs) {
      closing = true
      clearInterval(sweep)
      for (const peer of peers) peer.closeReason ??= 'shutdown'
      const sockets = [...wss.clients]
      const allClosed = Promise.all(sockets.filter((ws) => ws.readyState !== WebSocket.CLOSED).map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve()))))
      for (const ws of sockets) ws.close(closeCode.goingAway, 'server shutting down')
      const graceTimer = setTimeout(() => {
        for (const ws of sockets) ws.terminate()
      }, graceMs)
      await allClosed
      clearTimeout(graceTimer)
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}

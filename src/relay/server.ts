// The relay: one http server for the app, /healthz, the /signal WebSocket, /v1 and /api, and /mcp.
import { registerError } from '../shared/errors'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { addressGroup, clientAddressOf, parseTrustedProxies } from './address'
import { RelayConfigError, type RelayConfig } from './config'
import { createRedisCluster, type SignalingCluster } from './cluster/redis-cluster'
import { handleHealth } from './health'
import { readPackageVersion } from './version'
import { hostAllowed, upgradeOriginAllowed, type HostRules } from './host-check'
import { sendJson, sendText } from './http-response'
import type { FaultCounts } from './last-resort'
import { createLogger, type Logger } from './log'
import { mcpDepsOf } from './mcp/deps'
import { createMcpHttp, mcpPath } from './mcp/http'
import { measureMemory, type MemoryUsage } from './memory'
import { createNetConfigHandler } from './net/handler'
import { netConfigPath } from '../shared/net-config'
import { createSignalingHub, type SignalingStats } from './signaling'
import { createStaticHandler } from './static'
import { createV1Api, isApiPath } from './v1/api'
import { exposureProblem, loadV1Config, trustProxyProblem, type V1Config } from './v1/config'

export interface RelayAddress {
  port: number
  host: string
}

export interface RelayStats extends SignalingStats, MemoryUsage {
  uptimeS: number
}

export interface Relay {
  /** Starts listening on `config.host:config.port` (port 0: any free port) and says where. */
  listen(): Promise<RelayAddress>
  /** Stops accepting, closes sockets with 1001, cuts what is left after the grace period. */
  close(): Promise<void>
  stats(): RelayStats
}

export interface RelayOptions {
  log?: Logger
  /** How long open sockets and requests get to finish on close. */
  shutdownGraceMs?: number
  /** /v1 and its backends; default: none configured, loopback only. */
  v1?: V1Config
  /** The process's last-resort counts (main.ts installs the hooks); default: none kept. */
  faults?: () => FaultCounts
}

export class RelayListenError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override readonly name = 'RelayListenError'
}

/** The path of a request target, without query; origin-form (`/a?b`) or absolute-form. */
function pathnameOf(target: string | undefined): string {
  if (target === undefined) return '/'
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0] ?? '/'
  try {
    return new URL(target).pathname
  } catch {
    return '/'
  }
}

/** 403 for a Host this relay is not known by (a DNS-rebinding page): /v1 in OpenAI's error shape. */
function refuseHost(req: IncomingMessage, res: ServerResponse, pathname: string): void {
  const message = 'this relay does not serve that host name; its operator can add it to RELAY_PUBLIC_HOSTS'
  if (isApiPath(pathname) || pathname === mcpPath) {
    sendJson(req, res, 403, { error: { message, type: 'invalid_request_error', param: null, code: 'host_not_allowed' } })
  } else {
    sendText(req, res, 403, message)
  }
}

function rejectUpgrade(socket: Duplex, statusLine: string): void {
  socket.end(`HTTP/1.1 ${statusLine}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

/**
 * Creates the relay for `config` without listening yet, so tests can run it in-process on
 * port 0 and benchmarks can read `stats()`.
 */
export function createRelay(config: RelayConfig, options: RelayOptions = {}): Relay {
  const log = options.log ?? createLogger(config.logLevel)
  const shutdownGraceMs = options.shutdownGraceMs ?? 2_000
  const version = readPackageVersion()
  const startedAtMs = Date.now()
  const trustedProxies = parseTrustedProxies(config.trustProxy)
  const hostRules: HostRules = { publicHosts: config.publicHosts, bindHost: config.host }
  const clientAddress = (req: IncomingMessage): string => clientAddressOf(req, trustedProxies)
  const { redisUrl } = config.cluster
  const cluster: SignalingCluster | null =
    redisUrl === null
      ? null
      : createRedisCluster(
          { ...config.cluster, redisUrl },
          {
            version,
            maxFrameBytes: config.maxFrameBytes,
            log,
            stats: () => {
              const { connections, rooms } = hub.stats()
              return { connections, rooms }
            },
          },
        )
  const hub = createSignalingHub(
    config,
    log,
    {
      clientAddress,
      addressGroup,
      hostAllowed: (req) => hostAllowed(req.headers.host, hostRules),
      originAllowed: (req) => upgradeOriginAllowed(req.headers.origin, req.headers.host, config.signalOrigins),
    },
    cluster,
  )
  const serveNetConfig = createNetConfigHandler(config.net)
  const serveStatic = createStaticHandler(config.staticDir, log)
  const serveModels = config.modelsDir === null ? null : createStaticHandler(config.modelsDir, log)
  const v1Config = options.v1 ?? loadV1Config({})
  const v1 = createV1Api(v1Config, log)
  const mcp = createMcpHttp(mcpDepsOf(v1, v1Config, log), v1Config, log)
  const faults = options.faults ?? ((): FaultCounts => ({ unhandledRejections: 0, uncaughtExceptions: 0 }))
  let closePromise: Promise<void> | undefined

  const uptimeS = (): number => Math.floor((Date.now() - startedAtMs) / 1000)

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pathname = pathnameOf(req.url)
    if (!hostAllowed(req.headers.host, hostRules)) {
      refuseHost(req, res, pathname)
    } else if (pathname === '/healthz') {
      if (!v1.authorized(req)) {
        handleHealth(req, res, { ok: true, status: 'ok', version })
        return
      }
      const { rooms, connections, dropped } = hub.stats()
      handleHealth(req, res, { ok: true, status: 'ok', version, uptimeS: uptimeS(), rooms, connections, dropped, faults: faults(), cluster: cluster?.health() ?? null, ...v1.health() })
    } else if (pathname === netConfigPath) {
      serveNetConfig(req, res, addressGroup(clientAddress(req)))
    } else if (isApiPath(pathname)) {
      // /v1 and /api answer JSON, a 404 included: never the app's index.html.
      await v1.handle(req, res, pathname, addressGroup(clientAddress(req)))
    } else if (pathname === mcpPath) {
      await mcp.handle(req, res, addressGroup(clientAddress(req)))
    } else if (pathname === '/signal') {
      sendText(req, res, 426, 'use a WebSocket for /signal', { Upgrade: 'websocket', Connection: 'Upgrade' })
    } else if (serveModels && pathname.startsWith('/models/')) {
      await serveModels(req, res, pathname.slice('/models'.length))
    } else {
      await serveStatic(req, res, pathname)
    }
  }

  const server = createServer((req, res) => {
    const startedMs = Date.now()
    res.once('finish', () => {
      log.debug('http request', { method: req.method, path: req.url, status: res.statusCode, durationMs: Date.now() - startedMs })
    })
    route(req, res).catch((error: unknown) => {
      log.error('http handler failed', { path: req.url, error })
      if (res.headersSent) res.destroy()
      else sendText(req, res, 500, 'internal error')
    })
  })

  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    if (pathnameOf(req.url) !== '/signal') {
      socket.on('error', () => socket.destroy())
      rejectUpgrade(socket, '404 Not Found')
      return
    }
    hub.handleUpgrade(req, socket, head)
  })

  return {
    async listen() {
      const problems = [exposureProblem(config.host, v1Config.tokens), trustProxyProblem(config.trustProxy, v1Config.tokens)].filter((problem) => problem !== null)
      if (problems.length > 0) throw new RelayConfigError(problems)
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => {
          reject(new RelayListenError(`cannot listen on ${config.host}:${config.port}: ${error.message}`, { cause: error }))
        }
        server.once('error', onError)
        server.listen(config.port, config.host, () => {
          server.off('error', onError)
          server.on('error', (error) => log.error('http server error', { error }))
          resolve()
        })
      })
      const address = server.address() as AddressInfo
      return { port: address.port, host: config.host }
    },

    close() {
      closePromise ??= (async () => {
        // First: a stream still running would hold its socket until the grace period cuts it silently.
        v1.stop()
        const serverClosed = new Promise<void>((resolve) => {
          if (server.listening) server.close(() => resolve())
          else resolve()
        })
        const forceTimer = setTimeout(() => server.closeAllConnections(), shutdownGraceMs)
        await hub.close(shutdownGraceMs)
        await cluster?.close()
        server.closeIdleConnections()
        await serverClosed
        clearTimeout(forceTimer)
        await v1.close()
      })()
      return closePromise
    },

    stats: () => ({ ...hub.stats(), uptimeS: uptimeS(), ...measureMemory() }),
  }
}

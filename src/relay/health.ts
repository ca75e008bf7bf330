import type { IncomingMessage, ServerResponse } from 'node:http'
import { rejectUnlessGetOrHead, sendJson } from './http-response'
import type { ClusterHealth } from './cluster/redis-cluster'
import type { DropCounts } from './drops'
import type { FaultCounts } from './last-resort'
import type { V1Health } from './v1/api'

/** What anyone may read: the relay answers, and its version. */
export interface PublicHealth {
  ok: true
  status: 'ok'
  version: string
}

/** Everything; with tokens set, only for a caller with a valid bearer token. */
export interface Health extends PublicHealth, V1Health {
  uptimeS: number
  rooms: number
  connections: number
  dropped: DropCounts
  faults: FaultCounts
  /** The relay instances sharing signaling through Redis, and Redis's state; null without RELAY_REDIS_URL. */
  cluster: ClusterHealth | null
}

/** Answers `GET /healthz` with the relay's current health, or only its public part. */
export function handleHealth(req: IncomingMessage, res: ServerResponse, health: Health | PublicHealth): void {
  if (rejectUnlessGetOrHead(req, res)) return
  sendJson(req, res, 200, health)
}

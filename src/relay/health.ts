import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import * as v from 'valibot'
import { rejectUnlessGetOrHead, sendJson } from './http-response'
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
}

const packageSchema = v.object({ version: v.string() })

/** The version field of the project's package.json, read once at startup. */
export function readPackageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  return v.parse(packageSchema, JSON.parse(text)).version
}

/** Answers `GET /healthz` with the relay's current health, or only its public part. */
export function handleHealth(req: IncomingMessage, res: ServerResponse, health: Health | PublicHealth): void {
  if (rejectUnlessGetOrHead(req, res)) return
  sendJson(req, res, 200, health)
}

import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import * as v from 'valibot'
import { rejectUnlessGetOrHead, sendJson } from './http-response'
import type { DropCounts } from './drops'
import type { V1Health } from './v1/api'

export interface Health extends V1Health {
  status: 'ok'
  version: string
  uptimeS: number
  rooms: number
  connections: number
  dropped: DropCounts
}

const packageSchema = v.object({ version: v.string() })

/** The version field of the project's package.json, read once at startup. */
export function readPackageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  return v.parse(packageSchema, JSON.parse(text)).version
}

/** Answers `GET /healthz` with the relay's current health. */
export function handleHealth(req: IncomingMessage, res: ServerResponse, health: Health): void {
  if (rejectUnlessGetOrHead(req, res)) return
  sendJson(req, res, 200, health)
}

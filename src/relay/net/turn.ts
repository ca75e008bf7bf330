// Time-limited TURN credentials in coturn's shared-secret convention (`use-auth-secret` with
// `static-auth-secret`, also the "TURN REST API" draft): the username is `<expiry unix s>:<user>`
// and the password is base64(HMAC-SHA1(secret, username)). coturn checks both without asking us.
import { createHmac } from 'node:crypto'
import type { IceServer } from '../../shared/net-config'

export interface TurnSettings {
  /** turn: or turns: URLs of one TURN service that shares `secret`. */
  urls: readonly string[]
  secret: string
  /** How long handed-out credentials work. */
  ttlS: number
}

export interface TurnCredential {
  username: string
  credential: string
}

/** The credential coturn accepts for `user` until `expiresAtS` (unix seconds). */
export function turnCredential(secret: string, user: string, expiresAtS: number): TurnCredential {
  const username = `${expiresAtS}:${user}`
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') }
}

export interface IssuedIce {
  iceServers: IceServer[]
  /** When the TURN credentials stop working (ms since the epoch); null: nothing expires. */
  expiresAt: number | null
  turn: boolean
}

function hasTurnUrl(server: IceServer): boolean {
  return (typeof server.urls === 'string' ? [server.urls] : server.urls).some((url) => url.startsWith('turn'))
}

/** The ICE servers one node gets now: the fixed ones, plus the TURN service with credentials of its own. */
export function issueIce(fixed: readonly IceServer[], turn: TurnSettings | null, nodeId: string, nowMs: number): IssuedIce {
  if (turn === null) return { iceServers: [...fixed], expiresAt: null, turn: fixed.some(hasTurnUrl) }
  const expiresAtS = Math.floor(nowMs / 1000) + turn.ttlS
  const server: IceServer = { urls: [...turn.urls], ...turnCredential(turn.secret, nodeId, expiresAtS) }
  return { iceServers: [...fixed, server], expiresAt: expiresAtS * 1000, turn: true }
}

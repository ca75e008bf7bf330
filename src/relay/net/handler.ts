// GET /net.json: the ICE servers and signaling URLs a page uses for its room, with TURN
// credentials of its own when the relay has a TURN service (RELAY_TURN_URLS).
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { rejectUnlessGetOrHead, sendJson, sendText } from '../http-response'
import { createKeyedBuckets } from '../token-bucket'
import type { NetConfig } from '../../shared/net-config'
import type { NetConfigSettings } from './config'
import { issueIce } from './turn'

/** The relay's own signaling URL as the page that asked reaches it. */
export function ownSignalingUrl(req: IncomingMessage): string {
  const forwardedProto = req.headers['x-forwarded-proto']
  const secure = (Array.isArray(forwardedProto) ? forwardedProto[0] : forwardedProto)?.split(',')[0]?.trim() === 'https'
  return `${secure ? 'wss' : 'ws'}://${req.headers.host ?? 'localhost'}/signal`
}

const nodeIdPattern = /^[0-9a-f]{20}$/

/** A node id for a page that named none: its credentials are its own all the same. */
function randomNodeId(): string {
  return randomBytes(10).toString('hex')
}

/** What /net.json answers for `req` and node `nodeId`: the relay's own signaling URL first, then the others. */
export function netConfigFor(req: IncomingMessage, settings: NetConfigSettings, nodeId: string, nowMs = Date.now()): NetConfig {
  const own = ownSignalingUrl(req)
  const signalingUrls = [own, ...settings.signalingUrls.filter((url) => url !== own)]
  return { v: 1, ...issueIce(settings.iceServers, settings.turn, nodeId, nowMs), signalingUrls }
}

export type NetConfigHandler = (req: IncomingMessage, res: ServerResponse, addressGroup: string) => void

/**
 * Answers GET /net.json?node=<nodeId>, at most `settings.perMin` times a minute per address
 * group (429 with Retry-After past it): each answer is a fresh TURN credential.
 */
export function createNetConfigHandler(settings: NetConfigSettings): NetConfigHandler {
  const buckets = createKeyedBuckets({ ratePerS: settings.perMin / 60, burst: settings.perMin })
  const retryAfterS = String(Math.max(1, Math.ceil(60 / settings.perMin)))
  return (req, res, addressGroup) => {
    if (rejectUnlessGetOrHead(req, res)) return
    const node = new URL(req.url ?? '/', 'http://relay').searchParams.get('node')
    if (node !== null && !nodeIdPattern.test(node)) {
      sendText(req, res, 400, 'node: expected a node id of 20 hex digits')
      return
    }
    if (!buckets.take(addressGroup)) {
      sendText(req, res, 429, `too many ${req.url?.split('?')[0] ?? '/net.json'} requests from this address: retry later`, { 'Retry-After': retryAfterS })
      return
    }
    sendJson(req, res, 200, netConfigFor(req, settings, node ?? randomNodeId()))
  }
}
